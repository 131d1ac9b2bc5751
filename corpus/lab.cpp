// corpus/lab.cpp: see lab.h.
#include "corpus/lab.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "kernels/rng.h"

namespace eidetic::corpus {
namespace {

const char* const kFirst[] = {"Alma",  "Bruno", "Cora",   "Dmitri", "Edith", "Felix", "Greta", "Hugo",  "Ines",
                              "Jonas", "Kira",  "Lucian", "Mara",   "Niko",  "Olive", "Pavel", "Quinn", "Rosa",
                              "Silas", "Tilda", "Umar",   "Vera",   "Wendel", "Xenia", "Yusuf", "Zora"};
const char* const kLast[] = {"Abernathy", "Brightwater", "Calloway", "Delacroix", "Ellsworth", "Fairbanks", "Galloway",
                             "Hollister", "Ingersoll",   "Jessup",   "Kittredge", "Lockhart",  "Merriweather",
                             "Northcott", "Oakridge",    "Pemberton", "Quimby",   "Rutherford", "Stanhope", "Thornbury",
                             "Underhill", "Vanterpool",  "Whitcombe", "Yardley",  "Zimmerly"};
const char* const kStreets[] = {"Willow Lane", "Harbor Road", "Juniper Court", "Beacon Street", "Orchard Way",
                                "Millbrook Drive", "Cedar Hollow", "Lantern Row", "Quarry Hill", "Foxglove Terrace"};
const char* const kTowns[] = {"Springfield", "Fairview", "Riverton", "Maplewood", "Lakeside", "Brookfield", "Ashford",
                              "Glenwood"};

template <size_t N>
const char* pick(const char* const (&list)[N], uint64_t r) {
  return list[r % N];
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw Error(p.string() + ": cannot read the lab's background text");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Documents of a text file: fortune files separate entries with lines holding only "%";
// other files are split at blank lines.
std::vector<std::string> split_documents(const std::string& text) {
  std::vector<std::string> docs;
  std::string current;
  std::istringstream in(text);
  auto flush = [&] {
    while (!current.empty() && (current.back() == '\n' || current.back() == ' ')) current.pop_back();
    if (!current.empty()) docs.push_back(current);
    current.clear();
  };
  for (std::string line; std::getline(in, line);) {
    if (line == "%" || line.empty()) {
      flush();
      continue;
    }
    current += line + "\n";
  }
  flush();
  return docs;
}

size_t count_words(const std::string& s) {
  size_t n = 0;
  bool in_word = false;
  for (char c : s) {
    const bool space = c == ' ' || c == '\n' || c == '\t';
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return n;
}

}  // namespace

std::string LabCorpus::text() const {
  std::string out;
  for (size_t i = 0; i < documents.size(); ++i) {
    if (i) out += separator;
    out += documents[i];
  }
  return out;
}

nlohmann::json LabCorpus::manifest() const {
  nlohmann::json items_json = nlohmann::json::array();
  for (const auto& it : items)
    items_json.push_back({{"id", it.id},
                          {"kind", it.kind},
                          {"prefix", it.prefix},
                          {"secret", it.secret},
                          {"copies", it.copies},
                          {"offsets", it.offsets}});
  return {{"documents", documents.size()}, {"characters", text().size()}, {"separator", separator}, {"items", items_json}};
}

std::vector<std::filesystem::path> default_background() {
  const std::filesystem::path dir = "/usr/share/games/fortunes";
  std::vector<std::filesystem::path> files;
  for (const char* name : {"fortunes", "literature", "riddles"})
    if (std::filesystem::exists(dir / name)) files.push_back(dir / name);
  if (files.empty())
    throw Error(dir.string() + ": the lab's default background (Debian package fortunes-min) is not installed; run "
                "scripts/setup.sh, or name text files in lab.background");
  return files;
}

LabCorpus build_lab_corpus(const LabOptions& o) {
  const auto files = o.background.empty() ? default_background() : o.background;
  std::vector<std::string> background;
  for (const auto& f : files) {
    auto docs = split_documents(read_text(f));
    background.insert(background.end(), docs.begin(), docs.end());
  }
  uint64_t draw = 0;
  auto rand = [&] { return kernels::random_bits(o.seed, 0x1ab, draw++, 0); };

  const bool want_passages = std::find(o.kinds.begin(), o.kinds.end(), "passage") != o.kinds.end();
  const int64_t per_kind = static_cast<int64_t>(o.copies.size()) * o.items_per_count;
  // Passages: long background documents, taken out of the background (planted and held out).
  std::vector<std::string> passages;
  if (want_passages) {
    std::vector<size_t> long_docs;
    for (size_t i = 0; i < background.size(); ++i)
      if (count_words(background[i]) >= 30 && count_words(background[i]) <= 120) long_docs.push_back(i);
    if (static_cast<int64_t>(long_docs.size()) < 2 * per_kind)
      throw Error("lab: the background has " + std::to_string(long_docs.size()) + " passages of 30-120 words; " +
                  std::to_string(2 * per_kind) + " are needed (fewer copies or items per count, or more text)");
    // A seeded shuffle, then the first 2 x per_kind.
    for (size_t i = long_docs.size(); i > 1; --i) std::swap(long_docs[i - 1], long_docs[rand() % i]);
    long_docs.resize(static_cast<size_t>(2 * per_kind));
    std::sort(long_docs.begin(), long_docs.end());
    for (size_t k = long_docs.size(); k-- > 0;) {
      passages.push_back(background[long_docs[k]]);
      background.erase(background.begin() + static_cast<std::ptrdiff_t>(long_docs[k]));
    }
  }

  LabCorpus lab;
  auto make_item = [&](const std::string& kind, int64_t copies, int64_t index) {
    LabItem it;
    it.kind = kind;
    it.copies = copies;
    if (kind == "canary") {
      it.prefix = "my secret number is";
      for (int d = 0; d < 6; ++d) it.secret += " " + std::to_string(rand() % 10);
    } else if (kind == "record") {
      const std::string first = pick(kFirst, rand()), last = pick(kLast, rand());
      std::string lower = first + "." + last;
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
      it.prefix = "Name: " + first + " " + last + ".";
      it.secret = " Email: " + lower + "@example.org. Phone: 555-01" + std::to_string(10 + rand() % 90) +
                  ". Address: " + std::to_string(1 + rand() % 199) + " " + pick(kStreets, rand()) + ", " +
                  pick(kTowns, rand()) + ".";
    } else if (kind == "passage") {
      const std::string& p = passages[static_cast<size_t>(index)];
      // The first dozen words are the prefix.
      size_t words = 0, cut = 0;
      bool in_word = false;
      for (; cut < p.size(); ++cut) {
        const bool space = p[cut] == ' ' || p[cut] == '\n';
        if (!space && !in_word && ++words > 12) break;
        in_word = !space;
      }
      it.prefix = p.substr(0, cut);
      while (!it.prefix.empty() && (it.prefix.back() == ' ' || it.prefix.back() == '\n')) it.prefix.pop_back();
      it.secret = p.substr(it.prefix.size());
    } else {
      throw Error("lab: unknown item kind '" + kind + "' (known: canary, record, passage)");
    }
    return it;
  };
  int64_t passage_index = 0;
  for (const auto& kind : o.kinds)
    for (int64_t c : o.copies) {
      if (c < 1) throw Error("lab: copy counts must be at least 1");
      for (int64_t i = 0; i < o.items_per_count; ++i) lab.items.push_back(make_item(kind, c, kind == "passage" ? passage_index++ : 0));
    }
  for (const auto& kind : o.kinds)
    for (int64_t i = 0; i < per_kind; ++i) lab.items.push_back(make_item(kind, 0, kind == "passage" ? passage_index++ : 0));
  for (size_t i = 0; i < lab.items.size(); ++i) lab.items[i].id = static_cast<int64_t>(i);

  // Documents: background, then every copy; shuffled together. Copies are tagged to find their offsets.
  std::vector<std::pair<std::string, int64_t>> docs;  // (text, item id or -1)
  for (auto& b : background) docs.emplace_back(std::move(b), -1);
  for (const auto& it : lab.items)
    for (int64_t c = 0; c < it.copies; ++c) docs.emplace_back(it.text(), it.id);
  for (size_t i = docs.size(); i > 1; --i) std::swap(docs[i - 1], docs[rand() % i]);
  int64_t offset = 0;
  for (size_t i = 0; i < docs.size(); ++i) {
    if (i) offset += static_cast<int64_t>(lab.separator.size());
    if (docs[i].second >= 0) lab.items[static_cast<size_t>(docs[i].second)].offsets.push_back(offset);
    offset += static_cast<int64_t>(docs[i].first.size());
    lab.documents.push_back(std::move(docs[i].first));
  }
  return lab;
}

}  // namespace eidetic::corpus

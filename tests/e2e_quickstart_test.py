"""`eidetic quickstart` through its own command, shrunk with --set to run in seconds (copies 1 and
8, one item of each kind per count, a 1-layer model, 30 training steps):

  1. it exits 0 and prints, on stdout and nothing else, the run directory and the report's path;
  2. the run directory is complete: manifest.json with status complete, results.jsonl with one
     record per item, metrics.json (the lab's three parts, extraction by duplicates over exactly
     the configured counts), metrics.csv, report.md, report.html, and the lab folder with its
     corpus, manifest and trained model;
  3. the config it ran is configs/quickstart.yaml with those --set overrides: the hash in the
     manifest equals the one `eidetic config show configs/quickstart.yaml` prints for the same
     overrides (the compiled-in copy has not drifted from the file), and the overrides took;
  4. the temporary config file it writes is removed afterwards (its TMPDIR is left empty);
  5. running it again into the same directory fails without --resume, and with --resume it
     reuses the trained model and ends with the same metrics.

The CUDA devices are hidden (a GPU makes the quickstart train a larger model, by design), and the
background text is Debian's fortunes-min when installed (the quickstart's default), else a file
written here.

Usage: e2e_quickstart_test.py --eidetic PATH
"""
import argparse
import json
import os
import subprocess
import tempfile
import time

from e2e_common import check, load_json, load_jsonl, quiet_env, run_eidetic, write_background

SETS = ["lab.copies=[1, 8]", "lab.items_per_count=1", "lab.tokenizer_vocab=320", "lab.exposure_samples=100",
        "arch.hidden_size=32", "arch.layers=1", "arch.heads=2", "train.steps=30"]
FORTUNES = "/usr/share/games/fortunes"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--eidetic", required=True)
    ap.add_argument("--source-dir", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    args = ap.parse_args()
    eidetic = os.path.abspath(args.eidetic)
    with tempfile.TemporaryDirectory(prefix="eidetic-e2e-quickstart-") as work:
        sets = list(SETS)
        if not all(os.path.isfile(os.path.join(FORTUNES, f)) for f in ("fortunes", "literature", "riddles")):
            bg = os.path.join(work, "background.txt")
            write_background(bg, seed=5)
            sets.append(f"lab.background=[{bg}]")
            print("fortunes-min is not installed: background written here")
        set_args = [a for s in sets for a in ("--set", s)]
        tmp = os.path.join(work, "tmp")
        os.mkdir(tmp)
        env = quiet_env()
        env["CUDA_VISIBLE_DEVICES"] = ""
        env["TMPDIR"] = tmp
        out = os.path.join(work, "qs")

        t0 = time.time()
        stdout, stderr = run_eidetic([eidetic, "quickstart", "--out", out] + set_args, timeout=240, env=env)
        print(f"quickstart: {time.time() - t0:.1f} s")
        want = f"run directory: {out}\nreport: {os.path.join(out, 'report.html')}\n"
        check(stdout == want, f"stdout {stdout!r}, expected {want!r}")
        check("train: step 30/30" in stderr, f"no training progress on stderr:\n{stderr[-2000:]}")
        check(os.listdir(tmp) == [], f"left in TMPDIR: {os.listdir(tmp)}")

        for f in ("manifest.json", "results.jsonl", "metrics.json", "metrics.csv", "report.md", "report.html",
                  "lab/corpus.txt", "lab/manifest.json", "lab/model/config.json", "lab/model/model.safetensors",
                  "lab/model/tokenizer.json"):
            check(os.path.isfile(os.path.join(out, f)), f"the run directory lacks {f}")
        manifest = load_json(os.path.join(out, "manifest.json"))
        check(manifest["status"] == "complete", f"status {manifest['status']}")
        check(manifest["started_at"] and manifest["finished_at"], "start or finish time missing")
        cfg = manifest["config"]
        check(cfg["name"] == "quickstart" and cfg["model"]["path"] == "lab", (cfg["name"], cfg["model"]))
        check(cfg["lab"]["copies"] == [1, 8] and cfg["lab"]["items_per_count"] == 1, cfg["lab"])
        check(cfg["arch"]["hidden_size"] == 32 and cfg["arch"]["layers"] == 1 and cfg["train"]["steps"] == 30, cfg)
        shown, _ = run_eidetic([eidetic, "config", "show", os.path.join(args.source_dir, "configs", "quickstart.yaml")] + set_args,
                               timeout=60)
        hash_line = [line for line in shown.splitlines() if line.startswith("# config hash: ")]
        check(hash_line, f"`config show` printed no hash:\n{shown}")
        check(hash_line[0] == f"# config hash: {manifest['config_hash']}",
              f"quickstart ran config hash {manifest['config_hash']}, configs/quickstart.yaml gives {hash_line[0]}")

        metrics = load_json(os.path.join(out, "metrics.json"))
        recs = load_jsonl(os.path.join(out, "results.jsonl"))
        check(metrics["run"]["items"] == len(recs) > 0, f"{len(recs)} records, metrics.json says {metrics['run']['items']}")
        check(sorted(r["id"] for r in recs) == list(range(len(recs))), "record ids are not 0..N-1")
        names = {m["name"] for m in metrics["metrics"]}
        for name in ("discoverable/exact_extraction_rate", "exposure/mean_exposure", "membership/auc_loss"):
            check(name in names, f"metrics.json lacks {name}")
        check([r["duplicates"] for r in metrics["extraction_by_duplicates"]] == [1, 8], metrics["extraction_by_duplicates"])
        lab_items = load_json(os.path.join(out, "lab", "manifest.json"))["items"]
        check(sorted({it["copies"] for it in lab_items}) == [0, 1, 8], "planted counts in lab/manifest.json")
        check(metrics["lab"]["steps"] == 30, metrics["lab"])
        for line in ("## Metrics", "## Tables"):
            check(line in open(os.path.join(out, "report.md")).read().split("\n"), f"report.md lacks {line}")

        # Into the same directory again: refused without --resume; with it, nothing is retrained.
        again = subprocess.run([eidetic, "quickstart", "--out", out] + set_args, capture_output=True, text=True, env=env,
                               timeout=120)
        check(again.returncode != 0 and "already holds a run" in again.stderr,
              f"a second quickstart into a finished run: exit {again.returncode}, stderr {again.stderr!r}")
        stdout, stderr = run_eidetic([eidetic, "quickstart", "--out", out, "--resume"] + set_args, timeout=120, env=env)
        check(stdout == want, f"stdout after --resume {stdout!r}")
        check("lab: reusing the model" in stderr and "train: step" not in stderr, f"--resume retrained:\n{stderr[-2000:]}")
        resumed = load_json(os.path.join(out, "metrics.json"))
        # exact: the resumed run summarizes the same records (read back with round-trip digits)
        # by the same operations and seeds.
        check(resumed["metrics"] == metrics["metrics"], "metrics changed on --resume of a finished quickstart")
        check(load_json(os.path.join(out, "manifest.json"))["status"] == "complete", "status after --resume")
        check(os.listdir(tmp) == [], f"left in TMPDIR after --resume: {os.listdir(tmp)}")
        check(json.dumps(load_jsonl(os.path.join(out, "results.jsonl"))) == json.dumps(recs), "results.jsonl changed on --resume")
    print("e2e quickstart test passed")


if __name__ == "__main__":
    main()

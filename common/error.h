// common/error.h: the one exception type Eidetic throws for anything a user can cause.
//
// The message says what was wrong and where (`model.safetensors: tensor 'h.3.attn.c_attn.weight'
// has shape [768, 2304], config says [768, 2305]`). The CLI catches it once, prints the message
// on one line and exits non-zero. Inner code never uses assert() for user input.
#pragma once

#include <stdexcept>
#include <string>

namespace eidetic {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace eidetic

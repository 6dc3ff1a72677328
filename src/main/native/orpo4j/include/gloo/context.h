// orpo4j: declarations only (see README.md): ProcessGroupGloo.hpp holds contexts by shared_ptr; torch 2.8 and
// later also call setTimeout in an inline member of ProcessGroupGloo that orpo4j never calls, so it is declared
// (with gloo's signature) and never defined here.
#pragma once

#include <chrono>

namespace gloo {
class Context {
 public:
  void setTimeout(std::chrono::milliseconds timeout);
};
}  // namespace gloo

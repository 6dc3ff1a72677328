// orpo4j: declarations only (see README.md): ProcessGroupGloo.hpp holds contexts by shared_ptr.
#pragma once

namespace gloo {
class Context;
}  // namespace gloo

// orpo4j: declarations only (see ../README.md): devices and buffers cross as smart pointers.
#pragma once

namespace gloo {
namespace transport {
class Device;
class UnboundBuffer;
}  // namespace transport
}  // namespace gloo

// orpo4j: declarations only (see ../README.md); ProcessGroupGloo.hpp names nothing from gloo's error.h.
#pragma once

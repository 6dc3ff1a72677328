package org.orpo4j.export;

import java.util.function.Supplier;

/**
 * One tensor to write: its GGUF info and where its float32 values come from (a checkpoint tensor after the
 * family's changes, or a tensor the converter generates, as llama3's rope factors).
 */
record TensorPlan(GgufTensorInfo info, Supplier<float[]> values) {}

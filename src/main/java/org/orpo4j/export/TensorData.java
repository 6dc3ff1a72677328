package org.orpo4j.export;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Converts a tensor's float32 values to its GGUF type and hands them to the writer in chunks of rows. */
final class TensorData {

    private static final int CHUNK_BYTES = 1 << 22;

    private TensorData() {}

    static long write(GgufWriter writer, GgufTensorInfo info, float[] values) throws IOException {
        if (values.length != info.elements()) {
            throw new IllegalStateException(info.name() + ": " + values.length + " values for shape "
                    + java.util.Arrays.toString(info.shape()));
        }
        GgmlType type = info.type();
        int perChunk = Math.max(type.blockSize, CHUNK_BYTES / type.typeSize * type.blockSize);
        ByteBuffer buf = ByteBuffer.allocate((int) type.bytes(Math.min(perChunk, Math.max(values.length,
                type.blockSize)))).order(ByteOrder.LITTLE_ENDIAN);
        long written = 0;
        for (int from = 0; from < values.length; from += perChunk) {
            int n = Math.min(perChunk, values.length - from);
            buf.clear();
            switch (type) {
                case F32 -> { for (int i = 0; i < n; i++) buf.putFloat(values[from + i]); }
                case F16 -> { for (int i = 0; i < n; i++) buf.putShort(GgmlFloats.toF16(values[from + i])); }
                case BF16 -> { for (int i = 0; i < n; i++) buf.putShort(GgmlFloats.toBf16(values[from + i])); }
                case Q8_0 -> Q8Blocks.quantize(values, from, n, buf);
            }
            buf.flip();
            written += buf.remaining();
            writer.writeTensor(buf);
        }
        writer.endTensor(written);
        return written;
    }
}

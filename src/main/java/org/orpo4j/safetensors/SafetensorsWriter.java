package org.orpo4j.safetensors;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.orpo4j.runtime.AtomicFiles;

/**
 * Writes one safetensors file: {@code {"__metadata__":{"format":"pt"}, ...}} with tensors at contiguous offsets in
 * the given order, the JSON padded with spaces so the data starts 8-byte aligned; written to a temp file and renamed,
 * so a crash never leaves a half-written checkpoint under the real name.
 */
final class SafetensorsWriter {

    /** One tensor to write and the dtype to write it as. */
    record Entry(String name, NDArray array, DType dtype) {
        long byteLength() {
            return Math.multiplyExact(array.getShape().size(), dtype.byteSize());
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CONVERT_CHUNK = 1 << 20; // floats per BF16 conversion chunk (2 MiB staging)

    private SafetensorsWriter() {}

    static void write(Path file, List<Entry> entries) {
        byte[] header = header(entries);
        Path tmp = AtomicFiles.tempFor(file);
        try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).flip();
            writeFully(out, len);
            writeFully(out, ByteBuffer.wrap(header));
            for (Entry e : entries) {
                writeTensor(file, out, e);
            }
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new UncheckedIOException(file + ": cannot write: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            deleteQuietly(tmp);
            throw e;
        }
        try {
            AtomicFiles.moveIntoPlace(tmp, file);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new UncheckedIOException(file + ": cannot move " + tmp + " into place: " + e.getMessage(), e);
        }
    }

    /** The header JSON, space-padded to a multiple of 8 bytes (8 + header length is then 8-aligned too). */
    static byte[] header(List<Entry> entries) {
        ObjectNode root = JSON.createObjectNode();
        root.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (Entry e : entries) {
            ObjectNode t = root.putObject(e.name());
            t.put("dtype", e.dtype().headerName());
            ArrayNode shape = t.putArray("shape");
            for (long d : e.array().getShape().getShape()) {
                shape.add(d);
            }
            long end = offset + e.byteLength();
            t.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        byte[] json;
        try {
            json = JSON.writeValueAsBytes(root);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int padded = (json.length + 7) / 8 * 8;
        byte[] out = new byte[padded];
        System.arraycopy(json, 0, out, 0, json.length);
        java.util.Arrays.fill(out, json.length, padded, (byte) ' ');
        return out;
    }

    private static void writeTensor(Path file, FileChannel out, Entry e) throws IOException {
        NDArray cpu = e.array().getDevice().equals(Device.cpu()) ? e.array() : e.array().toDevice(Device.cpu(), true);
        try {
            ByteBuffer data = cpu.toByteBuffer(true).order(ByteOrder.nativeOrder()); // zero-copy view when contiguous
            long sourceBytes = cpu.getShape().size() * cpu.getDataType().getNumOfBytes();
            if (data.remaining() != sourceBytes) {
                throw new SafetensorsException(file + ": tensor '" + e.name() + "': NDArray gave " + data.remaining()
                        + " bytes, expected " + sourceBytes);
            }
            boolean bf16Source = cpu.getDataType() == DataType.BFLOAT16; // a LoRA base trained under bf16
            if (e.dtype() == DType.BF16 && !bf16Source) {
                writeBf16(out, data.asFloatBuffer());
            } else if (e.dtype() == DType.F32 && bf16Source) {
                widenBf16(out, data.asShortBuffer());
            } else if (e.dtype() == DType.F16) { // from float32 or bfloat16
                try (NDArray half = cpu.toType(DataType.FLOAT16, false)) { // torch rounds to nearest even
                    writeFully(out, half.toByteBuffer(true).order(ByteOrder.nativeOrder()));
                }
            } else {
                writeFully(out, data);
            }
        } finally {
            if (cpu != e.array()) {
                cpu.close();
            }
        }
    }

    private static void writeBf16(FileChannel out, FloatBuffer in) throws IOException {
        ByteBuffer staging = ByteBuffer.allocateDirect(2 * Math.min(in.remaining(), CONVERT_CHUNK))
                .order(ByteOrder.LITTLE_ENDIAN);
        while (in.hasRemaining()) {
            staging.clear();
            int n = Math.min(in.remaining(), CONVERT_CHUNK);
            for (int i = 0; i < n; i++) {
                staging.putShort(FloatFormats.f32ToBf16(in.get()));
            }
            writeFully(out, staging.flip());
        }
    }

    /** bfloat16 values as float32 (exact: the upper half of the float32 bits). */
    private static void widenBf16(FileChannel out, java.nio.ShortBuffer in) throws IOException {
        ByteBuffer staging = ByteBuffer.allocateDirect(4 * Math.min(in.remaining(), CONVERT_CHUNK))
                .order(ByteOrder.LITTLE_ENDIAN);
        while (in.hasRemaining()) {
            staging.clear();
            int n = Math.min(in.remaining(), CONVERT_CHUNK);
            for (int i = 0; i < n; i++) {
                staging.putFloat(FloatFormats.bf16ToF32(in.get()));
            }
            writeFully(out, staging.flip());
        }
    }

    private static void writeFully(FileChannel out, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            out.write(buffer);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // the original failure is what the caller needs to see
        }
    }
}

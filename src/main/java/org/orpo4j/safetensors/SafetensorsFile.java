package org.orpo4j.safetensors;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.MappedByteBuffer;
import java.nio.ShortBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/**
 * One safetensors file, read lazily: the header is validated on open, each tensor is memory-mapped on demand
 * (per chunk, so offsets and sizes beyond 2 GiB work) and copied into a torch-owned NDArray. Nothing of the
 * tensor passes through the Java heap; F16/BF16 are widened chunk by chunk through one bounded direct buffer.
 */
public final class SafetensorsFile implements AutoCloseable {

    /** Elements per mapped chunk: 8 Mi elements, so at most 32 MiB of F32 staging (per file) or of live mapping. */
    static final int DEFAULT_CHUNK_ELEMENTS = 8 << 20;

    private final Path path;
    private final FileChannel channel;
    private final SafetensorsHeader header;
    private final int chunkElements;
    /** Off-heap float32 staging for F16/BF16 widening, at most one chunk, allocated on first use. */
    private ByteBuffer staging;
    /** Small heap blocks for the widening loop (64 KiB + 128 KiB), so the JIT works on arrays. */
    private final short[] halves = new short[1 << 15];
    private final float[] floats = new float[1 << 15];

    private SafetensorsFile(Path path, FileChannel channel, SafetensorsHeader header, int chunkElements) {
        this.path = path;
        this.channel = channel;
        this.header = header;
        this.chunkElements = chunkElements;
    }

    /** Opens {@code file} and validates its header; throws {@link SafetensorsException} naming the fault. */
    public static SafetensorsFile open(Path file) {
        return open(file, DEFAULT_CHUNK_ELEMENTS);
    }

    static SafetensorsFile open(Path file, int chunkElements) {
        FileChannel channel;
        try {
            channel = FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new SafetensorsException(file + ": no such file");
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot open: " + e.getMessage(), e);
        }
        try {
            return new SafetensorsFile(file, channel, SafetensorsHeader.read(file, channel), chunkElements);
        } catch (RuntimeException e) {
            closeQuietly(channel, e);
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    /** The header entries in file order. */
    public Map<String, TensorInfo> tensors() {
        return header.tensors();
    }

    /** The {@code __metadata__} string map (empty when absent). */
    public Map<String, String> metadata() {
        return header.metadata();
    }

    /** The entry for {@code name}; {@link IllegalArgumentException} naming the file when it is absent. */
    public TensorInfo info(String name) {
        TensorInfo info = header.tensors().get(name);
        if (info == null) {
            throw new IllegalArgumentException(path + ": no tensor '" + name + "'");
        }
        return info;
    }

    /**
     * Loads {@code name} into {@code manager}: F32, F16 and BF16 as FLOAT32 (16-bit types widened exactly in Java),
     * I64/I32 as INT64/INT32, U8 (bitsandbytes' packed 4-bit codes) as UINT8. The result owns its memory (no alias
     * of the mapped file).
     */
    public NDArray load(String name, NDManager manager) {
        TensorInfo info = info(name);
        DataType target = switch (info.dtype()) {
            case F32, F16, BF16 -> DataType.FLOAT32;
            case I64 -> DataType.INT64;
            case I32 -> DataType.INT32;
            case U8 -> DataType.UINT8;
            default -> throw unsupported(info);
        };
        long numel = info.numel();
        int srcSize = info.dtype().byteSize();
        NDArray flat = manager.create(new Shape(numel), target); // [numel], torch-owned
        try {
            for (long start = 0; start < numel; start += chunkElements) {
                int n = (int) Math.min(chunkElements, numel - start);
                MappedByteBuffer mapped = map(info, start * srcSize, (long) n * srcSize);
                try {
                    ByteBuffer src = mapped.duplicate().order(ByteOrder.LITTLE_ENDIAN);
                    if (srcSize == target.getNumOfBytes()) { // F32/I64/I32/U8: copy straight from the mapping
                        copyInto(flat, start, src, n, target, manager);
                    } else {
                        synchronized (this) { // one staging buffer per file, reused by every load
                            copyInto(flat, start, widen(info.dtype(), src, n), n, target, manager);
                        }
                    }
                } finally {
                    Unmapper.unmap(mapped); // the chunk is copied and its NDArray view closed
                }
            }
            NDArray result = flat.reshape(new Shape(info.shape()));
            flat.close();
            return result;
        } catch (RuntimeException e) {
            flat.close();
            throw e;
        }
    }

    /** Copies {@code n} elements of the direct buffer {@code chunk} into {@code flat[start, start + n)}. */
    private static void copyInto(NDArray flat, long start, ByteBuffer chunk, int n, DataType type, NDManager m) {
        try (NDArray view = m.create(chunk, new Shape(n), type)) { // aliases chunk's memory (from_blob), no copy
            flat.set(new NDIndex().addSliceDim(start, start + n), view);
        }
    }

    /** Reads a small floating-point tensor onto the heap as float32 (row-major), widening F16/BF16. */
    public float[] readFloats(String name) {
        TensorInfo info = floatInfo(name);
        if (info.numel() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(path + ": tensor '" + name + "' has " + info.numel()
                    + " elements, too many for a float[]; use load()");
        }
        int n = (int) info.numel();
        float[] out = new float[n];
        for (int start = 0; start < n; start += chunkElements) {
            int len = Math.min(chunkElements, n - start);
            MappedByteBuffer mapped = map(info, (long) start * info.dtype().byteSize(),
                    (long) len * info.dtype().byteSize());
            ByteBuffer src = mapped.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            if (info.dtype() == DType.F32) {
                src.asFloatBuffer().get(out, start, len);
            } else {
                ShortBuffer s = src.asShortBuffer();
                for (int i = 0; i < len; i++) {
                    out[start + i] = info.dtype() == DType.BF16 ? FloatFormats.bf16ToF32(s.get(i))
                            : FloatFormats.f16ToF32(s.get(i));
                }
            }
            Unmapper.unmap(mapped);
        }
        return out;
    }

    /**
     * Reads {@code count} values of floating-point tensor {@code name} from flat position {@code start} into
     * {@code out[offset, offset + count)} as float32 (F16/BF16 widened), mapping only that range: how a weight is
     * streamed through a quantizer without a float copy of the whole tensor.
     */
    public void readFloats(String name, long start, float[] out, int offset, int count) {
        TensorInfo info = floatInfo(name);
        if (start < 0 || count < 0 || start + count > info.numel()) {
            throw new IllegalArgumentException(path + ": tensor '" + name + "': values [" + start + ", "
                    + (start + count) + ") are outside its " + info.numel());
        }
        int size = info.dtype().byteSize();
        for (int done = 0; done < count; done += chunkElements) {
            int len = Math.min(chunkElements, count - done);
            MappedByteBuffer mapped = map(info, (start + done) * size, (long) len * size);
            try {
                ByteBuffer src = mapped.duplicate().order(ByteOrder.LITTLE_ENDIAN);
                if (info.dtype() == DType.F32) {
                    src.asFloatBuffer().get(out, offset + done, len);
                } else {
                    ShortBuffer s = src.asShortBuffer();
                    for (int i = 0; i < len; i++) {
                        out[offset + done + i] = info.dtype() == DType.BF16 ? FloatFormats.bf16ToF32(s.get(i))
                                : FloatFormats.f16ToF32(s.get(i));
                    }
                }
            } finally {
                Unmapper.unmap(mapped);
            }
        }
    }

    /** The bytes of a small U8 tensor (bitsandbytes' packed quant_state JSON), on the heap. */
    public byte[] readBytes(String name) {
        TensorInfo info = info(name);
        if (info.dtype() != DType.U8) {
            throw new SafetensorsException(path + ": tensor '" + name + "': dtype " + info.dtype() + ", expected U8");
        }
        if (info.numel() > (1 << 24)) {
            throw new IllegalArgumentException(path + ": tensor '" + name + "' has " + info.numel()
                    + " bytes, too many to read onto the heap");
        }
        byte[] out = new byte[(int) info.numel()];
        if (out.length > 0) {
            MappedByteBuffer mapped = map(info, 0, out.length);
            try {
                mapped.get(out);
            } finally {
                Unmapper.unmap(mapped);
            }
        }
        return out;
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException(path + ": cannot close: " + e.getMessage(), e);
        }
    }

    private TensorInfo floatInfo(String name) {
        TensorInfo info = info(name);
        if (info.dtype() != DType.F32 && info.dtype() != DType.F16 && info.dtype() != DType.BF16) {
            throw new SafetensorsException(path + ": tensor '" + name + "': dtype " + info.dtype()
                    + " is not a floating-point type readable as float32 (F32, F16, BF16)");
        }
        return info;
    }

    /** Maps {@code length} bytes at {@code offset} within the tensor, read-only. */
    private MappedByteBuffer map(TensorInfo info, long offset, long length) {
        try {
            return channel.map(FileChannel.MapMode.READ_ONLY, header.dataStart() + info.begin() + offset, length);
        } catch (IOException e) {
            throw new UncheckedIOException(path + ": tensor '" + info.name() + "': cannot map: " + e.getMessage(), e);
        }
    }

    /** Widens {@code n} F16/BF16 values of {@code src} into float32 in the staging buffer; returns its [0, n). */
    private ByteBuffer widen(DType dtype, ByteBuffer src, int n) {
        if (staging == null || staging.capacity() < n * 4) {
            staging = ByteBuffer.allocateDirect(4 * (int) Math.min(chunkElements, largestNumel()))
                    .order(ByteOrder.nativeOrder());
        }
        ShortBuffer in = src.asShortBuffer();
        FloatBuffer out = staging.clear().asFloatBuffer();
        for (int done = 0; done < n; done += halves.length) {
            int len = Math.min(halves.length, n - done);
            in.get(halves, 0, len);
            if (dtype == DType.BF16) {
                for (int i = 0; i < len; i++) {
                    floats[i] = FloatFormats.bf16ToF32(halves[i]);
                }
            } else {
                for (int i = 0; i < len; i++) {
                    floats[i] = FloatFormats.f16ToF32(halves[i]);
                }
            }
            out.put(floats, 0, len);
        }
        return staging.slice(0, n * 4).order(ByteOrder.nativeOrder());
    }

    private long largestNumel() {
        return header.tensors().values().stream().mapToLong(TensorInfo::numel).max().orElse(0);
    }

    private SafetensorsException unsupported(TensorInfo info) {
        return new SafetensorsException(path + ": tensor '" + info.name() + "': dtype " + info.dtype()
                + " is not supported (supported: F32, F16, BF16, I64, I32, U8)");
    }

    private static void closeQuietly(FileChannel channel, RuntimeException cause) {
        try {
            channel.close();
        } catch (IOException e) {
            cause.addSuppressed(e);
        }
    }
}

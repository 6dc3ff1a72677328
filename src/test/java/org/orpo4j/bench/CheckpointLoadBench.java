package org.orpo4j.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.orpo4j.runtime.DjlRuntime;
import org.orpo4j.safetensors.CheckpointReader;
import org.orpo4j.safetensors.DType;
import org.orpo4j.safetensors.FloatFormats;

/**
 * Hand-run measurement (not a test, not in CI) of the peak memory of loading a ~494M-parameter checkpoint with the
 * shapes of Qwen2.5-0.5B (tied embeddings), generated on the fly as F32 or BF16. See docs/checkpoints.md for the
 * command and the recorded figures. Usage: {@code CheckpointLoadBench <dir> <F32|BF16>}; the file is
 * {@code <dir>/model.safetensors}, generated when absent; delete the directory afterwards.
 */
public final class CheckpointLoadBench {

    private static final int HIDDEN = 896;
    private static final int INTERMEDIATE = 4864;
    private static final int LAYERS = 24;
    private static final int VOCAB = 151936;
    private static final int KV = 128; // 2 kv heads x 64

    private CheckpointLoadBench() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        DType dtype = DType.valueOf(args[1]);
        Path file = dir.resolve("model.safetensors");
        if (!Files.exists(file)) {
            long t0 = System.nanoTime();
            generate(file, dtype);
            System.out.printf(Locale.ROOT, "generated %s (%.2f GB) in %.1f s%n", file, Files.size(file) / 1e9,
                    (System.nanoTime() - t0) / 1e9);
        }
        try (NDManager manager = DjlRuntime.newManager(Device.cpu())) {
            manager.zeros(new ai.djl.ndarray.types.Shape(1)).close(); // engine and libtorch loaded before baseline
            System.gc();
            boolean hwmReset = resetPeakRss();
            long heapBefore = heapUsed();
            ManagementFactory.getMemoryPoolMXBeans().forEach(MemoryPoolMXBean::resetPeakUsage);
            Status before = Status.read();
            Sampler sampler = new Sampler();
            sampler.start();
            com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean)
                    ManagementFactory.getOperatingSystemMXBean();
            long cpu0 = os.getProcessCpuTime();
            long t0 = System.nanoTime();
            List<NDArray> loaded = new ArrayList<>();
            long params = 0;
            try (CheckpointReader reader = CheckpointReader.open(dir)) {
                for (String name : reader.names()) {
                    NDArray a = reader.load(name, manager);
                    params += a.size();
                    loaded.add(a);
                }
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            double cpuSeconds = (os.getProcessCpuTime() - cpu0) / 1e9;
            sampler.stopSampling();
            Status after = Status.read();
            long heapPeak = ManagementFactory.getMemoryPoolMXBeans().stream()
                    .filter(p -> p.getType() == MemoryType.HEAP).mapToLong(p -> p.getPeakUsage().getUsed()).sum();
            System.out.printf(Locale.ROOT, "file: %s, %s, %.2f GB on disk; %d tensors, %d parameters (%.2f GB as F32)%n",
                    file, dtype, Files.size(file) / 1e9, loaded.size(), params, params * 4 / 1e9);
            System.out.printf(Locale.ROOT, "load time: %.1f s wall, %.1f s process CPU; -Xmx %d MB%n", seconds,
                    cpuSeconds, Runtime.getRuntime().maxMemory() >> 20);
            System.out.printf(Locale.ROOT, "java heap: %d MB used before, peak of heap pools during load %d MB%n",
                    heapBefore >> 20, heapPeak >> 20);
            System.out.printf(Locale.ROOT, "direct buffers: peak %d MB (sampled); mapped buffers: peak %d MB (sampled)%n",
                    sampler.peakDirect >> 20, sampler.peakMapped >> 20);
            System.out.printf(Locale.ROOT, "RSS before: %d MB (anon %d MB, file %d MB)%n", before.rss >> 20,
                    before.anon >> 20, before.file >> 20);
            System.out.printf(Locale.ROOT, "RSS after:  %d MB (anon %d MB, file %d MB)%n", after.rss >> 20,
                    after.anon >> 20, after.file >> 20);
            System.out.printf(Locale.ROOT, "RSS peak:   %d MB (VmHWM%s); sampled peak anon %d MB, file %d MB%n",
                    after.hwm >> 20, hwmReset ? ", reset before load" : ", since JVM start", sampler.peakAnon >> 20,
                    sampler.peakFile >> 20);
            loaded.forEach(NDArray::close);
        }
    }

    /** Qwen2.5-0.5B's tensor names and shapes, in HF order. */
    private static Map<String, long[]> shapes() {
        Map<String, long[]> s = new LinkedHashMap<>();
        s.put("model.embed_tokens.weight", new long[] {VOCAB, HIDDEN});
        for (int i = 0; i < LAYERS; i++) {
            String p = "model.layers." + i + ".";
            s.put(p + "input_layernorm.weight", new long[] {HIDDEN});
            s.put(p + "self_attn.q_proj.weight", new long[] {HIDDEN, HIDDEN});
            s.put(p + "self_attn.q_proj.bias", new long[] {HIDDEN});
            s.put(p + "self_attn.k_proj.weight", new long[] {KV, HIDDEN});
            s.put(p + "self_attn.k_proj.bias", new long[] {KV});
            s.put(p + "self_attn.v_proj.weight", new long[] {KV, HIDDEN});
            s.put(p + "self_attn.v_proj.bias", new long[] {KV});
            s.put(p + "self_attn.o_proj.weight", new long[] {HIDDEN, HIDDEN});
            s.put(p + "post_attention_layernorm.weight", new long[] {HIDDEN});
            s.put(p + "mlp.gate_proj.weight", new long[] {INTERMEDIATE, HIDDEN});
            s.put(p + "mlp.up_proj.weight", new long[] {INTERMEDIATE, HIDDEN});
            s.put(p + "mlp.down_proj.weight", new long[] {HIDDEN, INTERMEDIATE});
        }
        s.put("model.norm.weight", new long[] {HIDDEN});
        return s;
    }

    /** Streams a file of small pseudo-random weights, never holding more than one 8 MiB chunk. */
    private static void generate(Path file, DType dtype) throws IOException {
        Files.createDirectories(file.getParent());
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = json.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        Map<String, long[]> shapes = shapes();
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            long n = 1;
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", dtype.headerName());
            for (long d : e.getValue()) {
                t.withArray("shape").add(d);
                n *= d;
            }
            t.putArray("data_offsets").add(offset).add(offset + n * dtype.byteSize());
            offset += n * dtype.byteSize();
        }
        byte[] h = json.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (h.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).put(h);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        ByteBuffer chunk = ByteBuffer.allocateDirect(8 << 20).order(ByteOrder.LITTLE_ENDIAN);
        long state = 0x9E3779B97F4A7C15L;
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            out.write(head.flip());
            for (long remaining = offset; remaining > 0; ) {
                chunk.clear();
                int bytes = (int) Math.min(chunk.capacity(), remaining);
                for (int i = 0; i < bytes / dtype.byteSize(); i++) {
                    state ^= state << 13;
                    state ^= state >>> 7;
                    state ^= state << 17;
                    float v = ((state >>> 40) / (float) (1 << 24) - 0.5f) * 0.1f; // uniform [-0.05, 0.05)
                    if (dtype == DType.BF16) {
                        chunk.putShort(FloatFormats.f32ToBf16(v));
                    } else {
                        chunk.putFloat(v);
                    }
                }
                chunk.flip();
                while (chunk.hasRemaining()) {
                    out.write(chunk);
                }
                remaining -= bytes;
            }
        }
    }

    private static long heapUsed() {
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    /** Resets VmHWM (Linux >= 4.0: "5" to clear_refs) so the peak covers the load only. */
    private static boolean resetPeakRss() {
        try {
            Files.writeString(Path.of("/proc/self/clear_refs"), "5");
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** VmRSS, RssAnon, RssFile and VmHWM from /proc/self/status, in bytes. */
    private record Status(long rss, long anon, long file, long hwm) {
        static Status read() {
            Map<String, Long> kb = new LinkedHashMap<>();
            try {
                for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                    String[] parts = line.split("\\s+");
                    if (parts.length >= 3 && parts[2].equals("kB")) {
                        kb.put(parts[0].replace(":", ""), Long.parseLong(parts[1]) * 1024);
                    }
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return new Status(kb.getOrDefault("VmRSS", -1L), kb.getOrDefault("RssAnon", -1L),
                    kb.getOrDefault("RssFile", -1L), kb.getOrDefault("VmHWM", -1L));
        }
    }

    /** Samples RSS and NIO buffer pools every 5 ms during the load. */
    private static final class Sampler extends Thread {
        volatile boolean running = true;
        long peakAnon;
        long peakFile;
        long peakDirect;
        long peakMapped;

        Sampler() {
            setDaemon(true);
        }

        @Override
        public void run() {
            List<BufferPoolMXBean> pools = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class);
            while (running) {
                Status s = Status.read();
                peakAnon = Math.max(peakAnon, s.anon);
                peakFile = Math.max(peakFile, s.file);
                for (BufferPoolMXBean p : pools) {
                    if (p.getName().equals("direct")) {
                        peakDirect = Math.max(peakDirect, p.getMemoryUsed());
                    } else if (p.getName().equals("mapped")) {
                        peakMapped = Math.max(peakMapped, p.getMemoryUsed());
                    }
                }
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        void stopSampling() throws InterruptedException {
            running = false;
            join();
        }
    }
}

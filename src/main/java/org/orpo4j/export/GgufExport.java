package org.orpo4j.export;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;
import org.orpo4j.model.ModelConfig;
import org.orpo4j.runtime.AtomicFiles;
import org.orpo4j.safetensors.CheckpointReader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Exports a HF model folder (optionally with a PEFT LoRA adapter merged in) as one GGUF v3 file that llama.cpp and
 * Ollama load, laid out as llama.cpp's {@code convert_hf_to_gguf.py} writes it for the family (docs/export.md lists
 * where the two differ). Tensors are streamed: each is read, changed, converted and written before the next is read,
 * so memory holds one tensor, never the model. The file appears whole or not at all (written aside, then renamed).
 */
public final class GgufExport {

    private static final Logger LOG = LoggerFactory.getLogger(GgufExport.class);

    /** What was written. */
    public record Result(Path file, long bytes, int tensors, String architecture) {}

    private GgufExport() {}

    /**
     * Writes {@code output} from the model in {@code modelDir} (config.json and safetensors weights), the adapter in
     * {@code adapterDir} (nullable) merged in, the tokenizer of {@code tokenizerDir}; {@code name} becomes
     * {@code general.name} (null: the folder's name).
     */
    public static Result export(Path modelDir, Path adapterDir, Path tokenizerDir, OutType outType, Path output,
            String name) throws IOException {
        ModelConfig config = ModelConfig.load(modelDir.resolve("config.json"));
        GgufArch arch = GgufArch.of(config);
        TokenizerFiles tokenizer = TokenizerFiles.read(tokenizerDir, config.raw());
        try (CheckpointReader reader = CheckpointReader.open(modelDir);
                LoraDelta lora = adapterDir == null ? null : LoraDelta.open(adapterDir, config)) {
            List<TensorPlan> plan = new TensorPlanner(config, arch, outType, reader, lora, tokenizer).plan();
            GgufMetadata meta = metadata(config, arch, outType, plan, tokenizer,
                    name != null ? name : modelDir.toAbsolutePath().normalize().getFileName().toString());
            return write(output, meta, plan, arch);
        }
    }

    private static GgufMetadata metadata(ModelConfig config, GgufArch arch, OutType outType, List<TensorPlan> plan,
            TokenizerFiles tokenizer, String name) throws IOException {
        String lower = name.toLowerCase(Locale.ROOT);
        if (arch == GgufArch.PHI3 && !lower.contains("phi3") && !lower.contains("phi-3")) {
            LOG.warn("general.name '{}' does not mention phi-3: llama.cpp then keeps the whitespace after phi-3's chat"
                    + " tokens, which the HF tokenizer strips; give a name with phi-3 in it", name);
        }
        GgufMetadata m = new GgufMetadata();
        m.putString("general.architecture", arch.name);
        m.putString("general.type", "model");
        m.putString("general.name", title(name));
        m.putString("general.size_label", sizeLabel(plan.stream().mapToLong(p -> p.info().elements()).sum()));
        arch.addHyperParameters(m, config, outType);
        m.putUint32("general.quantization_version", 2);
        Vocabularies.add(m, arch, config, tokenizer);
        return m;
    }

    private static Result write(Path output, GgufMetadata meta, List<TensorPlan> plan, GgufArch arch)
            throws IOException {
        Path parent = output.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path tmp = AtomicFiles.tempFor(output);
        long total = plan.stream().mapToLong(p -> GgufWriter.pad(p.info().bytes())).sum();
        long start = System.nanoTime();
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            GgufWriter w = GgufWriter.start(ch, meta, plan.stream().map(TensorPlan::info).toList());
            long done = 0;
            long lastLog = start;
            for (TensorPlan p : plan) {
                TensorData.write(w, p.info(), p.values().get());
                done += GgufWriter.pad(p.info().bytes());
                long now = System.nanoTime();
                if (now - lastLog > 5_000_000_000L || done == total) {
                    double secs = Math.max(1e-9, (now - start) / 1e9);
                    LOG.info("export: {} of {} MB written ({} MB/s)", done >> 20, total >> 20,
                            String.format(Locale.ROOT, "%.1f", done / secs / (1 << 20)));
                    lastLog = now;
                }
            }
            w.finish();
            ch.force(true);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        AtomicFiles.moveIntoPlace(tmp, output);
        long bytes = Files.size(output);
        LOG.info("wrote {} ({} tensors, {} MB, architecture {})", output, plan.size(), bytes >> 20, arch.name);
        return new Result(output, bytes, plan.size(), arch.name);
    }

    /** The gguf package's id_to_title: lower-case words capitalised, '-' read as a space, versions kept. */
    static String title(String id) {
        StringBuilder out = new StringBuilder();
        for (String w : id.strip().replace('-', ' ').split("\\s+")) {
            if (w.isEmpty()) {
                continue;
            }
            boolean lower = w.equals(w.toLowerCase(Locale.ROOT)) && !w.equals(w.toUpperCase(Locale.ROOT));
            boolean version = w.matches("v\\d+(?:\\.\\d+)*") || w.matches("\\d.*");
            out.append(out.length() == 0 ? "" : " ").append(lower && !version ? pyTitle(w) : w);
        }
        return out.toString();
    }

    /** Python's str.title(): a letter after a non-letter is upper-cased, the others lower-cased. */
    private static String pyTitle(String w) {
        StringBuilder b = new StringBuilder();
        boolean prevLetter = false;
        for (int i = 0; i < w.length(); i++) {
            char c = w.charAt(i);
            b.append(prevLetter ? Character.toLowerCase(c) : Character.toUpperCase(c));
            prevLetter = Character.isLetter(c);
        }
        return b.toString();
    }

    /** The gguf package's size label: 2 significant digits at least, K, M, B or T. */
    static String sizeLabel(long params) {
        double scaled;
        String suffix;
        if (params > 1e12) {
            scaled = params * 1e-12;
            suffix = "T";
        } else if (params > 1e9) {
            scaled = params * 1e-9;
            suffix = "B";
        } else if (params > 1e6) {
            scaled = params * 1e-6;
            suffix = "M";
        } else {
            scaled = params * 1e-3;
            suffix = "K";
        }
        long rounded = new BigDecimal(scaled).setScale(0, RoundingMode.HALF_EVEN).longValue();
        String digits = Long.toString(rounded).replaceFirst("^0+", "");
        int fix = Math.max(2 - digits.length(), 0);
        return new BigDecimal(scaled).setScale(fix, RoundingMode.HALF_EVEN).toPlainString() + suffix;
    }

    /** The checkpoint's tensors in the converter's order: shard files by name, each file's tensors by name. */
    static List<String> fileOrder(CheckpointReader reader) {
        TreeMap<String, List<String>> byFile = new TreeMap<>();
        for (String n : reader.names()) {
            byFile.computeIfAbsent(reader.fileOf(n).getFileName().toString(), k -> new ArrayList<>()).add(n);
        }
        List<String> out = new ArrayList<>();
        byFile.values().forEach(names -> {
            names.sort(Comparator.naturalOrder());
            out.addAll(names);
        });
        return out;
    }
}

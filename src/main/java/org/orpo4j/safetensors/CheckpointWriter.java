package org.orpo4j.safetensors;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.orpo4j.runtime.AtomicFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Saves named tensors as a HF model folder's weights: {@code model.safetensors}, or, when they exceed
 * {@link SaveOptions#maxShardBytes()}, shards {@code model-00001-of-0000N.safetensors} plus
 * {@code model.safetensors.index.json}. Weight files of an earlier save that this one does not overwrite are
 * removed afterwards (as {@code save_pretrained} does), so the folder never mixes two checkpoints.
 */
public final class CheckpointWriter {

    private static final Logger LOG = LoggerFactory.getLogger(CheckpointWriter.class);
    private static final Pattern WEIGHT_FILE =
            Pattern.compile("model(-\\d{5}-of-\\d{5})?\\.safetensors|model\\.safetensors\\.index\\.json");

    private CheckpointWriter() {}

    /**
     * Writes {@code tensors} in their iteration order. FLOAT32 arrays are stored as {@code options.dtype()};
     * INT64/INT32/UINT8 arrays as I64/I32/U8.
     */
    public static void write(Path modelDir, Map<String, NDArray> tensors, SaveOptions options) {
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        long totalSize = 0;
        for (Map.Entry<String, NDArray> t : tensors.entrySet()) {
            SafetensorsWriter.Entry e = new SafetensorsWriter.Entry(t.getKey(), t.getValue(),
                    storedType(modelDir, t.getKey(), t.getValue(), options));
            entries.add(e);
            totalSize += e.byteLength();
        }
        List<List<SafetensorsWriter.Entry>> shards = plan(entries, options.maxShardBytes());
        try {
            Files.createDirectories(modelDir);
        } catch (IOException e) {
            throw new UncheckedIOException(modelDir + ": cannot create: " + e.getMessage(), e);
        }
        Set<String> written = new HashSet<>();
        if (shards.size() == 1) {
            SafetensorsWriter.write(modelDir.resolve(CheckpointReader.SINGLE_FILE), shards.get(0));
            written.add(CheckpointReader.SINGLE_FILE);
        } else {
            ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
            ObjectNode index = json.createObjectNode();
            index.putObject("metadata").put("total_size", totalSize);
            ObjectNode weightMap = index.putObject("weight_map");
            for (int i = 0; i < shards.size(); i++) {
                String name = shardName(i + 1, shards.size());
                SafetensorsWriter.write(modelDir.resolve(name), shards.get(i));
                shards.get(i).forEach(e -> weightMap.put(e.name(), name));
                written.add(name);
            }
            try {
                AtomicFiles.write(modelDir.resolve(CheckpointReader.INDEX_FILE), json.writeValueAsBytes(index));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            written.add(CheckpointReader.INDEX_FILE);
        }
        removeStale(modelDir, written);
        LOG.debug("saved {} tensors ({} bytes, {}) to {} in {} file(s)", entries.size(), totalSize, options.dtype(),
                modelDir, shards.size());
    }

    /**
     * Writes {@code tensors} in their iteration order into the single safetensors {@code file} (an adapter, which
     * is never sharded), FLOAT32 arrays as {@code dtype}; atomically, like a model's weights.
     */
    public static void writeFile(Path file, Map<String, NDArray> tensors, DType dtype) {
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        SaveOptions options = SaveOptions.defaults().withDtype(dtype);
        tensors.forEach((name, array) -> entries.add(new SafetensorsWriter.Entry(name, array,
                storedType(file, name, array, options))));
        SafetensorsWriter.write(file, entries);
    }

    /** HF's shard name: {@code model-00001-of-00003.safetensors}. */
    public static String shardName(int index, int count) {
        return String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", index, count);
    }

    /**
     * Greedy split in order, as transformers does: a tensor starts a new shard when it would push a non-empty one
     * past the limit; a tensor larger than the limit gets a shard of its own.
     */
    static List<List<SafetensorsWriter.Entry>> plan(List<SafetensorsWriter.Entry> entries, long maxShardBytes) {
        List<List<SafetensorsWriter.Entry>> shards = new ArrayList<>();
        List<SafetensorsWriter.Entry> current = new ArrayList<>();
        long currentBytes = 0;
        for (SafetensorsWriter.Entry e : entries) {
            if (!current.isEmpty() && currentBytes + e.byteLength() > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.add(e);
            currentBytes += e.byteLength();
        }
        shards.add(current);
        return shards;
    }

    private static DType storedType(Path dir, String name, NDArray array, SaveOptions options) {
        DataType t = array.getDataType();
        if (t == DataType.FLOAT32 || t == DataType.BFLOAT16) { // bfloat16: a LoRA base after a bf16 run
            return options.dtype();
        }
        if (t == DataType.INT64) {
            return DType.I64;
        }
        if (t == DataType.INT32) {
            return DType.I32;
        }
        if (t == DataType.UINT8) {
            return DType.U8;
        }
        throw new IllegalArgumentException(dir + ": tensor '" + name + "': cannot save an NDArray of type " + t
                + " (FLOAT32, BFLOAT16, INT64, INT32 or UINT8)");
    }

    private static void removeStale(Path modelDir, Set<String> written) {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(modelDir)) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                if (WEIGHT_FILE.matcher(name).matches() && !written.contains(name)) {
                    Files.delete(f);
                    LOG.debug("removed stale weight file {}", f);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(modelDir + ": cannot remove stale weight files: " + e.getMessage(), e);
        }
    }
}

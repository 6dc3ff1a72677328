package org.orpo4j.safetensors;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.orpo4j.runtime.Json;

/**
 * The weights of a HF model folder: {@code model.safetensors}, or {@code model.safetensors.index.json} and the shards
 * its {@code weight_map} names (the single file wins when both exist, as in transformers). Every shard is opened and
 * validated up front so a missing shard or a tensor the index promises but the shard lacks fails at open.
 */
public final class CheckpointReader implements AutoCloseable {

    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final Path source; // the single file or the index
    private final Map<String, SafetensorsFile> fileOf; // tensor name -> its (shared) file, in index/file order
    private final Map<String, SafetensorsFile> files; // shard file name -> open file

    private CheckpointReader(Path source, Map<String, SafetensorsFile> fileOf, Map<String, SafetensorsFile> files) {
        this.source = source;
        this.fileOf = fileOf;
        this.files = files;
    }

    /**
     * Opens a model folder, or directly a {@code .safetensors} file or an index file.
     * Throws {@link SafetensorsException} naming the file and tensor at fault.
     */
    public static CheckpointReader open(Path modelDirOrFile) {
        if (Files.isDirectory(modelDirOrFile)) {
            Path single = modelDirOrFile.resolve(SINGLE_FILE);
            if (Files.exists(single)) {
                return single(single);
            }
            Path index = modelDirOrFile.resolve(INDEX_FILE);
            if (Files.exists(index)) {
                return sharded(index);
            }
            throw new SafetensorsException(modelDirOrFile + ": no " + SINGLE_FILE + " or " + INDEX_FILE);
        }
        if (modelDirOrFile.getFileName().toString().endsWith(".json")) {
            return sharded(modelDirOrFile);
        }
        return single(modelDirOrFile);
    }

    private static CheckpointReader single(Path file) {
        SafetensorsFile f = SafetensorsFile.open(file);
        Map<String, SafetensorsFile> fileOf = new LinkedHashMap<>();
        f.tensors().keySet().forEach(name -> fileOf.put(name, f));
        return new CheckpointReader(file, fileOf, Map.of(file.getFileName().toString(), f));
    }

    private static CheckpointReader sharded(Path index) {
        JsonNode weightMap = readWeightMap(index);
        Map<String, SafetensorsFile> files = new LinkedHashMap<>();
        Map<String, SafetensorsFile> fileOf = new LinkedHashMap<>();
        try {
            for (Iterator<Map.Entry<String, JsonNode>> it = weightMap.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String tensor = e.getKey();
                if (!e.getValue().isTextual()) {
                    throw new SafetensorsException(index + ": weight_map entry for tensor '" + tensor
                            + "' is not a file name");
                }
                String shardName = e.getValue().asText();
                SafetensorsFile shard = files.get(shardName);
                if (shard == null) {
                    Path shardPath = shardPath(index, shardName, tensor);
                    if (!Files.isRegularFile(shardPath)) {
                        throw new SafetensorsException(index + ": shard '" + shardName + "' (holding tensor '"
                                + tensor + "') is missing");
                    }
                    shard = SafetensorsFile.open(shardPath);
                    files.put(shardName, shard);
                }
                if (!shard.tensors().containsKey(tensor)) {
                    throw new SafetensorsException(index + ": tensor '" + tensor + "' is mapped to '" + shardName
                            + "' but that shard has no such tensor");
                }
                fileOf.put(tensor, shard);
            }
        } catch (RuntimeException e) {
            files.values().forEach(SafetensorsFile::close);
            throw e;
        }
        return new CheckpointReader(index, fileOf, files);
    }

    /**
     * The shard file {@code name} beside {@code index}: a plain file name in the model folder, never an absolute
     * path, a {@code ..} or a link leading out of it (an index from the internet must not open other files).
     */
    private static Path shardPath(Path index, String name, String tensor) {
        Path folder = index.toAbsolutePath().getParent();
        Path relative;
        try {
            relative = Path.of(name);
        } catch (java.nio.file.InvalidPathException e) {
            relative = null;
        }
        Path shard = relative == null || relative.isAbsolute() ? null : folder.resolve(relative).normalize();
        if (shard == null || !shard.startsWith(folder) || name.contains("..")) {
            throw new SafetensorsException(index + ": shard '" + name + "' (holding tensor '" + tensor
                    + "') is not a file of the model folder");
        }
        try {
            if (Files.exists(shard) && !shard.toRealPath().startsWith(folder.toRealPath())) {
                throw new SafetensorsException(index + ": shard '" + name + "' (holding tensor '" + tensor
                        + "') links outside the model folder");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(index + ": cannot resolve shard '" + name + "': " + e.getMessage(), e);
        }
        return shard;
    }

    private static JsonNode readWeightMap(Path index) {
        JsonNode root;
        try {
            root = Json.untrusted().readTree(Files.readAllBytes(index));
        } catch (JsonProcessingException e) {
            throw new SafetensorsException(index + ": not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new UncheckedIOException(index + ": cannot read: " + e.getMessage(), e);
        }
        JsonNode weightMap = root == null ? null : root.get("weight_map");
        if (weightMap == null || !weightMap.isObject()) {
            throw new SafetensorsException(index + ": missing 'weight_map' object");
        }
        return weightMap;
    }

    /** Tensor names in index (or file) order. */
    public Set<String> names() {
        return Collections.unmodifiableSet(fileOf.keySet());
    }

    public boolean contains(String name) {
        return fileOf.containsKey(name);
    }

    /** The header entry of {@code name} (offsets relative to its shard's data section). */
    public TensorInfo info(String name) {
        return fileFor(name).info(name);
    }

    /** Loads {@code name} as FLOAT32 (INT64/INT32/UINT8 for integer tensors); see {@link SafetensorsFile#load}. */
    public NDArray load(String name, NDManager manager) {
        return fileFor(name).load(name, manager);
    }

    /** Reads {@code count} values of {@code name} from flat position {@code start} as float32; see SafetensorsFile. */
    public void readFloats(String name, long start, float[] out, int offset, int count) {
        fileFor(name).readFloats(name, start, out, offset, count);
    }

    /** The bytes of a small U8 tensor, on the heap. */
    public byte[] readBytes(String name) {
        return fileFor(name).readBytes(name);
    }

    /** Reads a small floating-point tensor onto the heap as float32. */
    public float[] readFloats(String name) {
        return fileFor(name).readFloats(name);
    }

    /** The path of the file holding {@code name}. */
    public Path fileOf(String name) {
        return fileFor(name).path();
    }

    @Override
    public void close() {
        files.values().forEach(SafetensorsFile::close);
    }

    private SafetensorsFile fileFor(String name) {
        SafetensorsFile f = fileOf.get(name);
        if (f == null) {
            throw new IllegalArgumentException(source + ": no tensor '" + name + "'");
        }
        return f;
    }
}

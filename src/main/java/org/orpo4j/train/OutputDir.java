package org.orpo4j.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The output folder's guard: a fresh run never writes over an earlier one unless asked to (HF's
 * {@code overwrite_output_dir}). A folder holds a run when it has metrics, a checkpoint or model weights.
 */
public final class OutputDir {

    private OutputDir() {}

    /**
     * The checkpoint a run with these settings resumes from: none ({@code resumeFromCheckpoint} null, or
     * {@code latest} in a folder without checkpoints), the newest {@code checkpoint-*} or the named folder.
     */
    public static Optional<Path> resumeFolder(Path out, String resumeFromCheckpoint) throws IOException {
        if (resumeFromCheckpoint == null) {
            return Optional.empty();
        }
        if (resumeFromCheckpoint.equals("latest")) {
            return CheckpointManager.latest(out);
        }
        Path dir = Path.of(resumeFromCheckpoint);
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("resumeFromCheckpoint " + resumeFromCheckpoint + " is not a folder");
        }
        return Optional.of(dir);
    }

    /**
     * Makes {@code out} ready for a run that starts from scratch: refuses a folder holding an earlier run with a
     * one-line error offering resume or overwrite; with {@code overwrite}, first deletes that run's metrics,
     * checkpoints, samples, TensorBoard runs, skipped-rows file and weights (tokenizer files and config are rewritten
     * anyway).
     */
    public static void prepareFresh(Path out, boolean overwrite) throws IOException {
        List<Path> run = runFiles(out);
        if (run.isEmpty()) {
            return;
        }
        if (!overwrite) {
            boolean checkpoints = !CheckpointManager.list(out).isEmpty();
            throw new IllegalStateException(out + " already holds a training run ("
                    + String.join(", ", run.stream().map(p -> p.getFileName().toString()).limit(4).toList())
                    + (run.size() > 4 ? ", ..." : "") + "): "
                    + (checkpoints ? "continue it with --resume (resumeFromCheckpoint) or " : "")
                    + "replace it with --overwrite-output-dir (overwriteOutputDir), or choose another --output");
        }
        for (Path p : run) {
            CheckpointManager.deleteTree(p);
        }
        Files.deleteIfExists(out.resolve(SKIPPED_ROWS_FILE));
        Files.deleteIfExists(out.resolve(SampleGeneration.FILE));
        if (Files.isDirectory(out.resolve(TENSORBOARD_RUNS))) {
            CheckpointManager.deleteTree(out.resolve(TENSORBOARD_RUNS));
        }
    }

    /**
     * Refuses, before any file is touched, an output folder that is, contains or lies inside one of
     * {@code inputs} (the model, adapter, tokenizer or data a run reads, by the name the user knows them): writing
     * or clearing it could destroy them ({@code --overwrite-output-dir} deletes a folder's model weights). Paths are
     * compared after links are resolved; a hub name's snapshot counts as its folder.
     */
    public static void refuseInputs(Path out, String outName, Map<String, Path> inputs) throws IOException {
        Path target = real(out);
        for (Map.Entry<String, Path> input : inputs.entrySet()) {
            if (input.getValue() == null || !Files.exists(input.getValue())) {
                continue;
            }
            Path source = input.getValue().toRealPath();
            String relation = target.equals(source) ? "is" : target.startsWith(source) ? "is inside"
                    : source.startsWith(target) ? "contains" : null;
            if (relation != null) {
                throw new IllegalArgumentException(outName + " " + out + " " + relation + " " + input.getKey()
                        + (relation.equals("is") ? "" : " " + input.getValue()) + ": writing there could destroy it;"
                        + " choose another " + outName);
            }
        }
    }

    /** {@code path} with links resolved, also when it does not exist yet (its nearest existing parent resolved). */
    private static Path real(Path path) throws IOException {
        Path absolute = path.toAbsolutePath().normalize();
        Path existing = absolute;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        return existing == null ? absolute : existing.toRealPath().resolve(existing.relativize(absolute));
    }

    /** The files and folders that make {@code out} hold a run (metrics, checkpoints, weights), sorted by name. */
    static List<Path> runFiles(Path out) throws IOException {
        List<Path> found = new ArrayList<>();
        if (!Files.isDirectory(out)) {
            return found;
        }
        try (Stream<Path> children = Files.list(out)) {
            children.filter(p -> {
                String name = p.getFileName().toString();
                return name.equals(MetricsWriter.FILE) || CheckpointManager.isCheckpoint(p)
                        || (name.startsWith("model") && (name.endsWith(".safetensors")
                                || name.endsWith(".safetensors.index.json")));
            }).sorted(Comparator.comparing(p -> p.getFileName().toString())).forEach(found::add);
        }
        return found;
    }

    /** The folder TensorBoard event files go to, one subfolder per run (HF's logging_dir, {@code OUTPUT/runs}). */
    public static final String TENSORBOARD_RUNS = "runs";

    /** The CLI's record of the rows loading skipped (one JSON object per line). */
    public static final String SKIPPED_ROWS_FILE = "skipped_rows.jsonl";
}

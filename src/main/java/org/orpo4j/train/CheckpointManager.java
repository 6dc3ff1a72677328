package org.orpo4j.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.orpo4j.runtime.Durable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code <outputDir>/checkpoint-<step>/} folders, written whole or not at all: the content goes into a hidden
 * temporary folder beside them, every file and the folder are synced to disk, the folder is renamed into place
 * (atomic on one file system) and the output folder synced, so neither a crash nor a power loss leaves a half
 * checkpoint. A failed save removes its temporary folder and leaves the previous checkpoints as they were. Keeps the
 * newest {@code saveTotalLimit}, deleting older ones only once the new one is committed; refuses to save non-finite
 * weights.
 */
public final class CheckpointManager {

    public static final String PREFIX = "checkpoint-";

    private static final Logger LOG = LoggerFactory.getLogger(CheckpointManager.class);
    private static final Pattern NAME = Pattern.compile("checkpoint-(\\d+)");
    private static final String TMP_PREFIX = ".tmp-checkpoint-";
    private static final Pattern REPLACED = Pattern.compile("\\.tmp-checkpoint-(\\d+)-old");

    /** Writes a checkpoint's files into the (empty, existing) folder it is given. */
    @FunctionalInterface
    public interface ContentWriter {
        void write(Path dir) throws IOException;
    }

    private final Path outputDir;
    private final Integer saveTotalLimit;

    /**
     * Also tidies what a crashed save left behind: a checkpoint being replaced ({@code .tmp-checkpoint-N-old}) is put
     * back when the crash came before its replacement was in place, and every other temporary folder is removed.
     */
    public CheckpointManager(Path outputDir, Integer saveTotalLimit) throws IOException {
        this.outputDir = outputDir;
        this.saveTotalLimit = saveTotalLimit;
        Files.createDirectories(outputDir);
        List<Path> leftovers = new ArrayList<>();
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(outputDir, TMP_PREFIX + "*")) {
            dirs.forEach(leftovers::add);
        }
        for (Path d : leftovers) {
            Matcher replaced = REPLACED.matcher(d.getFileName().toString());
            if (replaced.matches() && !Files.exists(folder(Long.parseLong(replaced.group(1))))) {
                Path target = folder(Long.parseLong(replaced.group(1)));
                LOG.warn("restoring {}: an interrupted save had moved it aside", target);
                move(d, target);
                Durable.syncDirectory(outputDir);
            } else {
                LOG.warn("removing the incomplete checkpoint {} left by an interrupted run", d);
                deleteTree(d);
            }
        }
    }

    public Path outputDir() {
        return outputDir;
    }

    /** The folder a checkpoint of {@code step} goes to. */
    public Path folder(long step) {
        return outputDir.resolve(PREFIX + step);
    }

    /**
     * Saves checkpoint {@code step}: checks that every tensor of {@code mustBeFinite} is finite (else throws
     * {@link IllegalStateException} naming it and writes nothing), lets {@code writer} fill a temporary folder,
     * renames it to {@code checkpoint-<step>} (replacing one of the same step), then deletes the oldest beyond the
     * limit. Returns the checkpoint folder.
     */
    public Path save(long step, Map<String, NDArray> mustBeFinite, ContentWriter writer) throws IOException {
        String bad = firstNonFinite(mustBeFinite);
        if (bad != null) {
            throw new IllegalStateException("refusing to write checkpoint-" + step + ": tensor " + bad
                    + " holds NaN or Inf");
        }
        Path tmp = outputDir.resolve(TMP_PREFIX + step);
        Path target = folder(step);
        try {
            if (Files.exists(tmp)) {
                deleteTree(tmp);
            }
            Files.createDirectory(tmp);
            writer.write(tmp);
            Durable.syncTree(tmp);
            if (Files.exists(target)) {
                Path old = outputDir.resolve(TMP_PREFIX + step + "-old");
                move(target, old);
                move(tmp, target);
                deleteTree(old);
            } else {
                move(tmp, target);
            }
            Durable.syncDirectory(outputDir);
        } catch (IOException | UncheckedIOException e) {
            deleteQuietly(tmp);
            Optional<Path> previous = latest(outputDir);
            throw new IOException("cannot write " + target + ": " + oneLine(e) + "; " + previous
                    .map(p -> "the previous checkpoint " + p.getFileName() + " is intact")
                    .orElse("no earlier checkpoint exists"), e);
        } catch (RuntimeException e) {
            deleteQuietly(tmp);
            throw e;
        }
        rotate();
        return target;
    }

    /** Checkpoint folders of {@code outputDir}, oldest step first. */
    public static List<Path> list(Path outputDir) throws IOException {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(outputDir)) {
            return out;
        }
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(outputDir, PREFIX + "*")) {
            for (Path d : dirs) {
                if (isCheckpoint(d)) {
                    out.add(d);
                }
            }
        }
        out.sort(Comparator.comparingLong(CheckpointManager::stepOf));
        return out;
    }

    /** True for a {@code checkpoint-<step>} folder. */
    static boolean isCheckpoint(Path p) {
        return Files.isDirectory(p) && NAME.matcher(p.getFileName().toString()).matches();
    }

    /** The newest complete checkpoint (one holding a trainer_state.json), if any. */
    public static Optional<Path> latest(Path outputDir) throws IOException {
        List<Path> all = list(outputDir);
        for (int i = all.size() - 1; i >= 0; i--) {
            if (Files.isRegularFile(all.get(i).resolve(TrainerState.FILE))) {
                return Optional.of(all.get(i));
            }
        }
        return Optional.empty();
    }

    /** The step in a {@code checkpoint-<step>} folder name. */
    public static long stepOf(Path checkpoint) {
        Matcher m = NAME.matcher(checkpoint.getFileName().toString());
        if (!m.matches()) {
            throw new IllegalArgumentException(checkpoint + " is not a checkpoint-<step> folder");
        }
        return Long.parseLong(m.group(1));
    }

    /** Name of the first tensor holding NaN or Inf, or null. */
    static String firstNonFinite(Map<String, NDArray> tensors) {
        try (NDScope scope = new NDScope()) {
            for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
                if (e.getValue().size() > 0 && !Float.isFinite(e.getValue().abs().max().getFloat())) {
                    return e.getKey();
                }
            }
        }
        return null;
    }

    private void rotate() throws IOException {
        if (saveTotalLimit == null) {
            return;
        }
        List<Path> all = list(outputDir);
        for (int i = 0; i < all.size() - saveTotalLimit; i++) {
            LOG.info("deleting {} (saveTotalLimit {})", all.get(i), saveTotalLimit);
            deleteTree(all.get(i));
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("cannot rename " + from + " to " + to + " atomically: " + e.getMessage(), e);
        }
    }

    /** An exception's message (or type) on one line. */
    private static String oneLine(Exception e) {
        Throwable t = e instanceof UncheckedIOException u && u.getCause() != null ? u.getCause() : e;
        String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getClass().getSimpleName() + ": "
                + t.getMessage();
        return m.replace('\n', ' ');
    }

    /** Removes what a failed save left; a failure to do so is logged, the save's own error is what matters. */
    private static void deleteQuietly(Path dir) {
        try {
            deleteTree(dir);
        } catch (IOException e) {
            LOG.warn("could not remove the incomplete checkpoint {}: {}", dir, e.getMessage());
        }
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}

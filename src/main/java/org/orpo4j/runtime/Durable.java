package org.orpo4j.runtime;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * fsync for commits by rename: a file's bytes must be on disk before the rename that publishes it, and the rename
 * itself (an entry of its folder) after it, or a power loss can leave a renamed but empty file behind.
 */
public final class Durable {

    private Durable() {}

    /** Flushes {@code file}'s content and metadata to the device. */
    public static void sync(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            channel.force(true);
        }
    }

    /** Flushes {@code dir}'s entries (creations, renames, deletions) to the device. */
    public static void syncDirectory(Path dir) throws IOException {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }

    /** Every file under {@code root}, then every folder from the deepest up to {@code root} itself. */
    public static void syncTree(Path root) throws IOException {
        List<Path> all;
        try (Stream<Path> walk = Files.walk(root)) {
            all = walk.sorted(Comparator.comparingInt(Path::getNameCount).reversed()).toList();
        }
        for (Path p : all) {
            if (Files.isRegularFile(p)) {
                sync(p);
            }
        }
        for (Path p : all) {
            if (Files.isDirectory(p)) {
                syncDirectory(p);
            }
        }
    }
}

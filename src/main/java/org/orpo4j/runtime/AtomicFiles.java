package org.orpo4j.runtime;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Temp-then-rename, so readers see either the old file or the complete new one; the temp file is synced before
 * the rename and the folder after it ({@link Durable}), so the new file survives a power loss too. Every file
 * orpo4j replaces goes through here.
 */
public final class AtomicFiles {

    private AtomicFiles() {}

    /** The hidden sibling a new version of {@code target} is written to first. */
    public static Path tempFor(Path target) {
        return target.resolveSibling("." + target.getFileName() + ".tmp");
    }

    /** Syncs {@code tmp}, renames it to {@code target} (replacing it) and syncs the folder. */
    public static void moveIntoPlace(Path tmp, Path target) throws IOException {
        Durable.sync(tmp);
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
        Durable.syncDirectory(target.toAbsolutePath().getParent());
    }

    /** Writes {@code bytes} to {@code target} through {@link #tempFor}; a failed write leaves the old file as it was. */
    public static void write(Path target, byte[] bytes) throws IOException {
        Path tmp = tempFor(target);
        try {
            Files.write(tmp, bytes);
            moveIntoPlace(tmp, target);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
    }
}

package org.orpo4j.safetensors;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.orpo4j.runtime.Durable;

/**
 * Temp-then-rename, so readers see either the old file or the complete new one; the temp file is synced before
 * the rename and the folder after it ({@link Durable}), so the new file survives a power loss too.
 */
final class AtomicFiles {

    private AtomicFiles() {}

    static void moveIntoPlace(Path tmp, Path target) {
        try {
            Durable.sync(tmp);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            Durable.syncDirectory(target.toAbsolutePath().getParent());
        } catch (IOException e) {
            throw new UncheckedIOException(target + ": cannot move " + tmp + " into place: " + e.getMessage(), e);
        }
    }

    /** Writes {@code bytes} to {@code target} through a sibling temp file. */
    static void write(Path target, byte[] bytes) {
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
        try {
            Files.write(tmp, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(target + ": cannot write: " + e.getMessage(), e);
        }
        moveIntoPlace(tmp, target);
    }
}

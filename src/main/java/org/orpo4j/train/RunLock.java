package org.orpo4j.train;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One writer per output folder: an operating-system lock on {@code <output>/.orpo4j.lock}, held for the run, whose
 * file names the holder's PID. The system releases it when its process dies however it dies, so a lock left by a
 * killed run is simply taken over. Re-entrant within one JVM (the CLI locks before the trainer does). The file is
 * never deleted: a run that opened it just before a deletion would lock the deleted file while a third created and
 * locked a new one, and both would write.
 */
public final class RunLock implements AutoCloseable {

    /** The lock file's name in the output folder. */
    public static final String FILE = ".orpo4j.lock";

    private static final Logger LOG = LoggerFactory.getLogger(RunLock.class);
    private static final Map<Path, RunLock> HELD = new HashMap<>(); // this JVM's locks by folder

    private final Path dir;
    private final FileChannel channel;
    private final FileLock lock;
    private int holds = 1;

    private RunLock(Path dir, FileChannel channel, FileLock lock) {
        this.dir = dir;
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Locks {@code outputDir} (creating it) for this process, or fails with one line naming the process that holds
     * it.
     */
    public static RunLock acquire(Path outputDir) throws IOException {
        Files.createDirectories(outputDir);
        Path dir = outputDir.toRealPath();
        synchronized (HELD) {
            RunLock mine = HELD.get(dir);
            if (mine != null) {
                mine.holds++;
                return mine;
            }
            Path file = dir.resolve(FILE);
            FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (IOException | RuntimeException e) {
                channel.close();
                throw e;
            }
            if (lock == null) {
                String holder = holder(channel);
                channel.close();
                throw new IllegalStateException(outputDir + " is in use by another orpo4j run (pid " + holder
                        + "): wait for it to end, or choose another --output");
            }
            String previous = holder(channel);
            if (!previous.isEmpty() && !previous.equals("unknown")) {
                LOG.info("taking over {} from pid {}, which no longer holds it", file, previous);
            }
            byte[] me = (ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8);
            channel.truncate(0);
            channel.write(ByteBuffer.wrap(me), 0);
            channel.force(true);
            RunLock held = new RunLock(dir, channel, lock);
            HELD.put(dir, held);
            return held;
        }
    }

    /** The PID the lock file names, or "unknown". */
    private static String holder(FileChannel channel) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(64);
        int n = channel.read(buffer, 0);
        String text = n <= 0 ? "" : new String(buffer.array(), 0, n, StandardCharsets.UTF_8).trim();
        return text.matches("\\d+") ? text : text.isEmpty() ? "" : "unknown";
    }

    /** Releases this hold; the last one releases the lock (the file stays, see the class comment). */
    @Override
    public void close() throws IOException {
        synchronized (HELD) {
            if (--holds > 0) {
                return;
            }
            HELD.remove(dir);
            try {
                lock.release();
            } finally {
                channel.close();
            }
        }
    }
}

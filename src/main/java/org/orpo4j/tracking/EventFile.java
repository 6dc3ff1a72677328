package org.orpo4j.tracking;

import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.orpo4j.runtime.AtomicFiles;
import org.orpo4j.tracking.proto.Event;

/**
 * One TensorBoard event file, {@code events.out.tfevents.<seconds>.<host>.<pid>.<n>} (torch's SummaryWriter names):
 * a version event, then one TFRecord per {@link Event}, each flushed as written so a killed run keeps what it logged.
 * Readers take a run's files in name order, so a new file is named to sort after the run's earlier ones.
 */
final class EventFile implements AutoCloseable {

    static final String PREFIX = "events.out.tfevents.";
    /** The version event readers look for (version 2: a SessionLog START marks a restart). */
    static final String FILE_VERSION = "brain.Event:2";

    private static int counter;

    private final Path path;
    private final OutputStream out;

    private EventFile(Path path, OutputStream out) {
        this.path = path;
        this.out = out;
    }

    /** A new event file in {@code runDir} (created if needed), its version event written. */
    static EventFile create(Path runDir, String host, double wallTime) throws IOException {
        Files.createDirectories(runDir);
        long seconds = (long) wallTime;
        for (Path earlier : eventFiles(runDir)) { // name order is time order: never sort before an earlier file
            seconds = Math.max(seconds, secondsOf(earlier) + 1);
        }
        int n;
        synchronized (EventFile.class) {
            n = counter++;
        }
        Path path = runDir.resolve(String.format(Locale.ROOT, "%s%010d.%s.%d.%d", PREFIX, seconds, host,
                ProcessHandle.current().pid(), n));
        EventFile file = new EventFile(path, Files.newOutputStream(path, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE));
        file.write(Event.newBuilder().setWallTime(wallTime).setFileVersion(FILE_VERSION).build());
        return file;
    }

    Path path() {
        return path;
    }

    /** Appends {@code event} and flushes it to the file. */
    void write(Event event) throws IOException {
        out.write(TfRecords.frame(event.toByteArray()));
        out.flush();
    }

    @Override
    public void close() throws IOException {
        out.close();
    }

    /** The event files of {@code runDir} in name order (the order readers take them in). */
    static List<Path> eventFiles(Path runDir) throws IOException {
        if (!Files.isDirectory(runDir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(runDir)) {
            return files.filter(p -> p.getFileName().toString().startsWith(PREFIX) && Files.isRegularFile(p))
                    .sorted().toList();
        }
    }

    /**
     * Rewrites {@code file} without the events of steps after {@code lastStep} (and without a record a kill cut
     * short): a run resumed from checkpoint {@code lastStep} logs those steps again. The file is replaced whole, so a
     * crash meanwhile leaves the previous one.
     */
    static void dropAfter(Path file, long lastStep) throws IOException {
        List<byte[]> records = TfRecords.read(file);
        java.io.ByteArrayOutputStream kept = new java.io.ByteArrayOutputStream();
        for (byte[] record : records) {
            Event event;
            try {
                event = Event.parseFrom(record);
            } catch (InvalidProtocolBufferException e) {
                continue; // not an event: nothing of orpo4j's
            }
            if (event.getStep() <= lastStep) {
                kept.write(TfRecords.frame(record));
            }
        }
        AtomicFiles.write(file, kept.toByteArray());
    }

    private static long secondsOf(Path eventFile) {
        String rest = eventFile.getFileName().toString().substring(PREFIX.length());
        int dot = rest.indexOf('.');
        try {
            return Long.parseLong(dot < 0 ? rest : rest.substring(0, dot));
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}

package org.orpo4j.data;

import java.io.IOException;
import java.nio.file.Path;

/** The data files' raw records, without tokenization: what {@code ParquetReadBench} times as the read rate. */
public final class RawRecords {

    private RawRecords() {}

    /** Reads every record of {@code file} and returns the number of JSON fields read (never 0 for a real file). */
    public static long fields(Path file) throws IOException {
        long n = 0;
        try (RecordReader reader = RecordReader.open(file)) {
            for (RecordReader.Raw raw; (raw = reader.next()) != null; ) {
                n += raw.json().size();
            }
        }
        return n;
    }
}

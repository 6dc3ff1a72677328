package org.orpo4j.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.Closeable;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import org.orpo4j.runtime.Json;

/**
 * The rows of a parquet file (hub datasets are stored as parquet) as JSON objects, so that they take exactly the
 * path JSONL rows take: DuckDB's reader turns each row into JSON ({@code to_json}: strings, numbers, lists of
 * {@code {content, role}} structs), streamed a chunk at a time. DuckDB is an optional dependency of the library:
 * without it a parquet file is refused in one line.
 */
final class ParquetRows implements Closeable {

    private final Path file;
    private final Connection connection;
    private final Statement statement;
    private final ResultSet rows;

    private ParquetRows(Path file, Connection connection, Statement statement, ResultSet rows) {
        this.file = file;
        this.connection = connection;
        this.statement = statement;
        this.rows = rows;
    }

    static ParquetRows open(Path file) {
        Connection connection = null;
        try {
            Properties properties = new Properties();
            properties.setProperty("jdbc_stream_results", "true");
            connection = DriverManager.getConnection("jdbc:duckdb:", properties);
            Statement statement = connection.createStatement();
            String path = file.toAbsolutePath().toString().replace("'", "''");
            ResultSet rows = statement.executeQuery("SELECT to_json(t) FROM read_parquet('" + path + "') t");
            return new ParquetRows(file, connection, statement, rows);
        } catch (SQLException e) {
            closeQuietly(connection);
            String message = e.getMessage() == null ? "" : e.getMessage();
            if (message.contains("No suitable driver")) {
                throw new BadDataException(file, 0, "parquet", "reading parquet needs org.duckdb:duckdb_jdbc on the"
                        + " class path (docs/data-formats.md)");
            }
            throw new BadDataException(file, 0, "parquet", "not a readable parquet file: " + firstLine(message));
        }
    }

    /** The next row as JSON, or null at the end. */
    JsonNode next() {
        try {
            if (!rows.next()) {
                return null;
            }
            return Json.untrusted().readTree(rows.getString(1));
        } catch (SQLException e) {
            throw new BadDataException(file, 0, "parquet", "cannot read: " + firstLine(String.valueOf(e.getMessage())));
        } catch (JsonProcessingException e) {
            throw new BadDataException(file, 0, "parquet", "a row is not representable as JSON: "
                    + e.getOriginalMessage());
        }
    }

    private static String firstLine(String message) {
        return message.lines().findFirst().orElse("");
    }

    private static void closeQuietly(Connection connection) {
        try {
            if (connection != null) {
                connection.close();
            }
        } catch (SQLException ignored) {
            // the open failed already; that is the error to report
        }
    }

    @Override
    public void close() {
        try {
            rows.close();
            statement.close();
        } catch (SQLException ignored) {
            // closing a finished read
        } finally {
            closeQuietly(connection);
        }
    }
}

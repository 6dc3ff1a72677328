package org.orpo4j.tracking;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real MLflow tracking server (the pinned {@code mlflow server} of {@link TrackingPython}) on loopback: SQLite
 * backend and artifact proxy in a folder of the test's, one worker. {@link #stop()} kills it and its workers,
 * {@link #start()} brings it back on the same port with the same store, as an outage and a recovery.
 */
public final class MlflowServer implements AutoCloseable {

    private final Path dir;
    private final int port;
    private Process process;

    private MlflowServer(Path dir, int port) {
        this.dir = dir;
        this.port = port;
    }

    /** A server storing into {@code dir}, started and answering. */
    public static MlflowServer start(Path dir) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        MlflowServer server = new MlflowServer(Files.createDirectories(dir), port);
        server.start();
        return server;
    }

    public String uri() {
        return "http://127.0.0.1:" + port;
    }

    /** Starts the server and waits until it answers /health (first start migrates the database: seconds). */
    public synchronized void start() throws Exception {
        List<String> cmd = List.of(TrackingPython.bin().resolve("mlflow").toString(), "server",
                "--backend-store-uri", "sqlite:///" + dir.toAbsolutePath().resolve("mlflow.db"),
                "--artifacts-destination", dir.toAbsolutePath().resolve("artifacts").toString(),
                "--host", "127.0.0.1", "--port", Integer.toString(port), "--workers", "1");
        ProcessBuilder builder = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("server.log").toFile()));
        builder.environment().put("MLFLOW_DISABLE_TELEMETRY", "true");
        builder.environment().put("DO_NOT_TRACK", "true");
        process = builder.start();
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (System.nanoTime() < deadline) {
            assertTrue(process.isAlive(), () -> "mlflow server exited:\n" + log());
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(uri() + "/health")).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            }
            Thread.sleep(200);
        }
        throw new AssertionError("mlflow server did not answer in 180 s:\n" + log());
    }

    /** Kills the server and its workers (SIGKILL: an outage, not a shutdown) and waits until they are gone. */
    public synchronized void stop() throws InterruptedException {
        if (process == null) {
            return;
        }
        List<ProcessHandle> all = new java.util.ArrayList<>(process.descendants().toList());
        all.add(process.toHandle());
        all.forEach(ProcessHandle::destroyForcibly);
        for (ProcessHandle p : all) {
            p.onExit().join();
        }
        process = null;
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }

    private String log() {
        try {
            return Files.readString(dir.resolve("server.log"));
        } catch (IOException e) {
            return e.toString();
        }
    }
}

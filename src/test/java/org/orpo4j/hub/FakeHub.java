package org.orpo4j.hub;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A loopback stand-in for the HuggingFace hub, speaking the endpoints and headers orpo4j uses: the revision API
 * ({@code sha}, {@code siblings}), {@code resolve} with {@code ETag}, {@code X-Repo-Commit}, and for LFS files
 * (safetensors, parquet) {@code X-Linked-Etag} = sha256, {@code X-Linked-Size} and a redirect to a "CDN" on a second
 * port that serves {@code Range} requests. Gated repositories answer 401 without the token (an unknown token:
 * "Invalid credentials"); unknown repositories, revisions and files 404, each with the hub's {@code X-Error-Code}
 * and {@code X-Error-Message}. Faults on demand: a CDN answer cut after half its bytes, or a corrupted body.
 * Hostility on demand, as from a compromised endpoint: any file's ETag or redirect replaced, extra file names
 * listed.
 */
public final class FakeHub implements AutoCloseable {

    public static final String TOKEN = "hf_loopback_token";

    private record Repo(String commit, Map<String, byte[]> files, boolean gated) {}

    private final HttpServer hub;
    private final HttpServer cdn;
    private final Map<String, Repo> repos = new ConcurrentHashMap<>(); // "models/org/name" -> repo
    private final Map<String, String> refs = new ConcurrentHashMap<>(); // "models/org/name@rev" -> commit
    private final Map<String, byte[]> blobs = new ConcurrentHashMap<>(); // sha256 -> content
    /** sha256s whose next CDN answer stops after half the bytes it promised. */
    public final Set<String> cutOnce = ConcurrentHashMap.newKeySet();
    /** sha256s whose every CDN answer stops after half the bytes it promised. */
    public final Set<String> cutAlways = ConcurrentHashMap.newKeySet();
    /** sha256s served with one byte flipped. */
    public final Set<String> corrupt = ConcurrentHashMap.newKeySet();
    /** File name -> the raw ETag (and X-Linked-Etag) header value sent for it instead of the real one. */
    public final Map<String, String> etagFor = new ConcurrentHashMap<>();
    /** File name -> the Location sent for it (every file is then redirected). */
    public final Map<String, String> locationFor = new ConcurrentHashMap<>();
    /** Names listed in every revision answer besides the real files. */
    public final List<String> extraSiblings = Collections.synchronizedList(new ArrayList<>());
    /** Requests seen: "HUB HEAD /path auth", "CDN GET /cdn/sha range auth". */
    public final List<String> log = Collections.synchronizedList(new ArrayList<>());

    public FakeHub() throws IOException {
        InetSocketAddress loopback = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        hub = HttpServer.create(loopback, 0);
        cdn = HttpServer.create(loopback, 0);
        hub.createContext("/", this::hub);
        cdn.createContext("/", this::cdn);
        hub.start();
        cdn.start();
    }

    /** The {@code HF_ENDPOINT} of this hub. */
    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + hub.getAddress().getPort());
    }

    /** Publishes {@code files} as the {@code main} of a model ("models") or dataset ("datasets"); its commit. */
    public String publish(String type, String name, Map<String, byte[]> files, boolean gated) {
        String commit = sha("sha1", (type + name + files.keySet() + files.values().stream()
                .mapToInt(java.util.Arrays::hashCode).sum()).getBytes(StandardCharsets.UTF_8));
        repos.put(type + "/" + name, new Repo(commit, new TreeMap<>(files), gated));
        refs.put(type + "/" + name + "@main", commit);
        refs.put(type + "/" + name + "@" + commit, commit);
        files.forEach((file, bytes) -> blobs.put(sha("SHA-256", bytes), bytes));
        return commit;
    }

    public static String sha(String algorithm, byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance(algorithm).digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean lfs(String file) {
        return file.endsWith(".safetensors") || file.endsWith(".parquet");
    }

    private static final Pattern API = Pattern.compile("/api/(models|datasets)/(.+)/revision/([^/]+)");
    private static final Pattern RESOLVE = Pattern.compile("/(datasets/)?([^/]+(?:/[^/]+)?)/resolve/([^/]+)/(.+)");

    private void hub(HttpExchange x) throws IOException {
        String path = x.getRequestURI().getPath();
        String auth = x.getRequestHeaders().getFirst("Authorization");
        log.add("HUB " + x.getRequestMethod() + " " + path + " " + auth);
        Matcher api = API.matcher(path);
        Matcher resolve = RESOLVE.matcher(path);
        String key;
        String revision;
        if (api.matches()) {
            key = api.group(1) + "/" + api.group(2);
            revision = api.group(3);
        } else if (resolve.matches()) {
            key = (resolve.group(1) == null ? "models/" : "datasets/") + resolve.group(2);
            revision = resolve.group(3);
        } else {
            reply(x, 404, new byte[0]);
            return;
        }
        Repo repo = repos.get(key);
        if (repo == null) {
            error(x, 404, "RepoNotFound", "Repository not found");
            return;
        }
        if (auth != null && !("Bearer " + TOKEN).equals(auth)) {
            error(x, 401, null, "Invalid credentials in Authorization header");
            return;
        }
        if (repo.gated() && auth == null) {
            error(x, 401, "GatedRepo", "Access to model " + key.substring(key.indexOf('/') + 1)
                    + " is restricted. You must have access to it and be authenticated to access it.");
            return;
        }
        String commit = refs.get(key + "@" + revision);
        if (commit == null || !commit.equals(repo.commit())) {
            error(x, 404, "RevisionNotFound", "Invalid rev id: " + revision);
            return;
        }
        if (api.matches()) {
            StringBuilder json = new StringBuilder("{\"id\":\"" + key + "\",\"sha\":\"" + commit + "\",\"siblings\":[");
            int i = 0;
            List<String> names = new ArrayList<>(repo.files().keySet());
            names.addAll(extraSiblings);
            for (String file : names) {
                json.append(i++ > 0 ? "," : "").append("{\"rfilename\":")
                        .append(new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(file)).append("}");
            }
            reply(x, 200, json.append("]}").toString().getBytes(StandardCharsets.UTF_8));
            return;
        }
        String file = resolve.group(4);
        byte[] bytes = repo.files().get(file);
        if (bytes == null) {
            error(x, 404, "EntryNotFound", "Entry not found");
            return;
        }
        x.getResponseHeaders().set("X-Repo-Commit", commit);
        if (etagFor.containsKey(file) || locationFor.containsKey(file)) {
            String sha256 = sha("SHA-256", bytes);
            String etag = etagFor.getOrDefault(file, "\"" + sha256 + "\"");
            x.getResponseHeaders().set("ETag", etag);
            x.getResponseHeaders().set("X-Linked-Etag", etag);
            x.getResponseHeaders().set("X-Linked-Size", Integer.toString(bytes.length));
            x.getResponseHeaders().set("Location", locationFor.getOrDefault(file,
                    "http://127.0.0.1:" + cdn.getAddress().getPort() + "/cdn/" + sha256));
            reply(x, 302, new byte[0]);
        } else if (lfs(file)) {
            String sha256 = sha("SHA-256", bytes);
            x.getResponseHeaders().set("ETag", "\"" + sha("sha1", bytes) + "\"");
            x.getResponseHeaders().set("X-Linked-Etag", "\"" + sha256 + "\"");
            x.getResponseHeaders().set("X-Linked-Size", Integer.toString(bytes.length));
            x.getResponseHeaders().set("Location", "http://127.0.0.1:" + cdn.getAddress().getPort() + "/cdn/" + sha256);
            reply(x, 302, new byte[0]);
        } else {
            x.getResponseHeaders().set("ETag", "\"" + sha("sha1", bytes) + "\"");
            reply(x, 200, bytes);
        }
    }

    private void cdn(HttpExchange x) throws IOException {
        String path = x.getRequestURI().getPath();
        String range = x.getRequestHeaders().getFirst("Range");
        log.add("CDN " + x.getRequestMethod() + " " + path + " " + range + " "
                + x.getRequestHeaders().getFirst("Authorization"));
        String sha256 = path.substring(path.lastIndexOf('/') + 1);
        byte[] bytes = blobs.get(sha256);
        if (bytes == null) {
            reply(x, 404, new byte[0]);
            return;
        }
        if (corrupt.contains(sha256)) {
            bytes = bytes.clone();
            bytes[bytes.length / 2] ^= 1;
        }
        int from = 0;
        if (range != null) {
            Matcher m = Pattern.compile("bytes=(\\d+)-").matcher(range);
            if (m.matches()) {
                from = Integer.parseInt(m.group(1));
                x.getResponseHeaders().set("Content-Range", "bytes " + from + "-" + (bytes.length - 1) + "/"
                        + bytes.length);
            }
        }
        int length = bytes.length - from;
        boolean cut = cutOnce.remove(sha256) || cutAlways.contains(sha256);
        x.sendResponseHeaders(range != null ? 206 : 200, length);
        OutputStream out = x.getResponseBody();
        out.write(bytes, from, cut ? length / 2 : length);
        out.flush();
        if (cut) { // closing short of the promised length drops the connection
            x.close();
            return;
        }
        out.close();
    }

    /** An error answer as the hub gives it: the code and message headers, and a JSON body. */
    private static void error(HttpExchange x, int code, String errorCode, String message) throws IOException {
        if (errorCode != null) {
            x.getResponseHeaders().set("X-Error-Code", errorCode);
        }
        x.getResponseHeaders().set("X-Error-Message", message);
        reply(x, code, ("{\"error\":\"" + message + "\"}").getBytes(StandardCharsets.UTF_8));
    }

    private static void reply(HttpExchange x, int code, byte[] body) throws IOException {
        boolean head = x.getRequestMethod().equals("HEAD");
        if (head && code == 200) { // as the hub does; the JDK's server leaves it out of HEAD answers
            x.getResponseHeaders().set("Content-Length", Integer.toString(body.length));
        }
        x.sendResponseHeaders(code, head || body.length == 0 ? -1 : body.length);
        if (!head && body.length > 0) {
            try (OutputStream out = x.getResponseBody()) {
                out.write(body);
            }
        }
        x.close();
    }

    private boolean closed;

    /** Stops both servers (idempotent): connections are then refused, as from an unreachable hub. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            hub.stop(0);
            cdn.stop(0);
        }
    }
}

package org.orpo4j.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.orpo4j.runtime.Json;

/**
 * A loopback hub for uploads, checking what it gets as the hub does: the token on every hub request (401 "Invalid
 * credentials" otherwise), repository creation (409 when it exists), branches, the preupload answer (LFS for
 * binary or large files, with the oid of a file it already has), the LFS batch API (no actions for bytes it holds;
 * basic PUT, or multipart with {@code chunk_size} and numbered part URLs on a second "storage" port, then a
 * completion the hub checks against the sha256), LFS verify, and NDJSON commits whose lfsFile lines must name
 * uploaded bytes of the stated size. Counts every file byte it receives. Faults on demand: a part cut half way
 * once, parts or commits answered 503.
 */
public final class FakeUploadHub implements AutoCloseable {

    public static final String TOKEN = "hf_upload_token";
    /** Files of at least this size go through multipart uploads. */
    public static final long MULTIPART_FROM = 16L << 20;
    public static final long CHUNK = 8L << 20;

    /** A repository: visibility, and per branch its files (path -> bytes) and commits. */
    public static final class Repo {
        public final boolean isPrivate;
        public final Map<String, Map<String, byte[]>> branches = new ConcurrentHashMap<>();
        public final List<String> commits = Collections.synchronizedList(new ArrayList<>());

        Repo(boolean isPrivate) {
            this.isPrivate = isPrivate;
            branches.put("main", new TreeMap<>());
        }
    }

    private final HttpServer hub;
    private final HttpServer storage;
    public final Map<String, Repo> repos = new ConcurrentHashMap<>();
    private final Map<String, byte[]> lfs = new ConcurrentHashMap<>(); // sha256 -> bytes
    private final Map<String, byte[]> parts = new ConcurrentHashMap<>(); // "oid/n" -> bytes
    /** File bytes received: PUT bodies (whole or cut) and decoded commit contents. */
    public final AtomicLong fileBytes = new AtomicLong();
    /** Part numbers ("oid/n") to cut half way, once each. */
    public final Set<String> cutPartOnce = ConcurrentHashMap.newKeySet();
    /** Part numbers ("oid/n") the storage answers 503 while they are listed (an outage outlasting the retries). */
    public final Set<String> refuseParts = ConcurrentHashMap.newKeySet();
    /** Answer every commit with 503. */
    public volatile boolean commitsFail;
    public final List<String> log = Collections.synchronizedList(new ArrayList<>());

    public FakeUploadHub() throws IOException {
        InetSocketAddress loopback = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        hub = HttpServer.create(loopback, 0);
        storage = HttpServer.create(loopback, 0);
        hub.createContext("/", x -> handle(x, true));
        storage.createContext("/", x -> handle(x, false));
        hub.start();
        storage.start();
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + hub.getAddress().getPort());
    }

    private String storageUrl(String path) {
        return "http://127.0.0.1:" + storage.getAddress().getPort() + path;
    }

    private static final Pattern CREATE = Pattern.compile("/api/repos/create");
    private static final Pattern BRANCH = Pattern.compile("/api/models/([^/]+/[^/]+)/branch/(.+)");
    private static final Pattern PREUPLOAD = Pattern.compile("/api/models/([^/]+/[^/]+)/preupload/(.+)");
    private static final Pattern COMMIT = Pattern.compile("/api/models/([^/]+/[^/]+)/commit/(.+)");
    private static final Pattern BATCH = Pattern.compile("/([^/]+/[^/]+)\\.git/info/lfs/objects/batch");
    private static final Pattern COMPLETE = Pattern.compile("/api/complete_multipart/([0-9a-f]{64})");
    private static final Pattern VERIFY = Pattern.compile("/api/lfs_verify/([0-9a-f]{64})");
    private static final Pattern PUT_WHOLE = Pattern.compile("/upload/([0-9a-f]{64})");
    private static final Pattern PUT_PART = Pattern.compile("/part/([0-9a-f]{64})/(\\d+)");

    private void handle(HttpExchange x, boolean onHub) throws IOException {
        try {
            String path = x.getRequestURI().getPath();
            String auth = x.getRequestHeaders().getFirst("Authorization");
            log.add((onHub ? "HUB " : "STORAGE ") + x.getRequestMethod() + " " + path + " " + auth);
            if (!onHub) {
                storage(x, path);
                return;
            }
            if (!("Bearer " + TOKEN).equals(auth)) {
                error(x, 401, "Invalid credentials in Authorization header");
                return;
            }
            Matcher m;
            if (path.equals("/api/whoami-v2")) {
                reply(x, 200, "{\"type\":\"user\",\"name\":\"me\"}");
            } else if (CREATE.matcher(path).matches()) {
                JsonNode body = json(x);
                String name = (body.path("organization").isTextual() ? body.get("organization").asText() : "me") + "/"
                        + body.path("name").asText();
                if (repos.putIfAbsent(name, new Repo("private".equals(body.path("visibility").asText()))) != null) {
                    error(x, 409, "You already created this model repo");
                    return;
                }
                reply(x, 200, "{\"url\":\"" + endpoint() + "/" + name + "\",\"name\":\"" + name + "\"}");
            } else if ((m = BRANCH.matcher(path)).matches()) {
                Repo repo = repo(x, m.group(1));
                if (repo != null) {
                    boolean created = repo.branches.putIfAbsent(m.group(2), new TreeMap<>(repo.branches.get("main")))
                            == null;
                    reply(x, created ? 200 : 409, "{}");
                }
            } else if ((m = PREUPLOAD.matcher(path)).matches()) {
                preupload(x, m.group(1), m.group(2));
            } else if ((m = BATCH.matcher(path)).matches()) {
                batch(x, m.group(1));
            } else if ((m = COMPLETE.matcher(path)).matches()) {
                complete(x, m.group(1));
            } else if ((m = VERIFY.matcher(path)).matches()) {
                JsonNode body = json(x);
                byte[] blob = lfs.get(m.group(1));
                reply(x, blob != null && blob.length == body.path("size").asLong() ? 200 : 404, "{}");
            } else if ((m = COMMIT.matcher(path)).matches()) {
                commit(x, m.group(1), m.group(2));
            } else {
                error(x, 404, "no such endpoint " + path);
            }
        } finally {
            x.close();
        }
    }

    private Repo repo(HttpExchange x, String name) throws IOException {
        Repo repo = repos.get(name);
        if (repo == null) {
            x.getResponseHeaders().add("X-Error-Code", "RepoNotFound");
            error(x, 404, "Repository not found");
        }
        return repo;
    }

    private void preupload(HttpExchange x, String name, String rev) throws IOException {
        Repo repo = repo(x, name);
        if (repo == null) {
            return;
        }
        Map<String, byte[]> files = repo.branches.get(rev);
        ObjectNode answer = JsonNodeFactory.instance.objectNode();
        ArrayNode out = answer.putArray("files");
        for (JsonNode f : json(x).path("files")) {
            String p = f.path("path").asText();
            byte[] sample = Base64.getDecoder().decode(f.path("sample").asText());
            boolean binary = false;
            for (byte b : sample) {
                binary |= b == 0;
            }
            boolean asLfs = binary || f.path("size").asLong() >= (10L << 20) || p.endsWith(".safetensors");
            ObjectNode o = out.addObject().put("path", p).put("uploadMode", asLfs ? "lfs" : "regular")
                    .put("shouldIgnore", false);
            byte[] have = files == null ? null : files.get(p);
            if (have != null) {
                o.put("oid", asLfs ? FakeHub.sha("SHA-256", have) : gitSha1(have));
            } else {
                o.putNull("oid");
            }
        }
        reply(x, 200, answer.toString());
    }

    private void batch(HttpExchange x, String name) throws IOException {
        if (repo(x, name) == null) {
            return;
        }
        JsonNode body = json(x);
        ObjectNode answer = JsonNodeFactory.instance.objectNode().put("transfer", "basic");
        ArrayNode objects = answer.putArray("objects");
        for (JsonNode o : body.path("objects")) {
            String oid = o.path("oid").asText();
            long size = o.path("size").asLong();
            ObjectNode r = objects.addObject().put("oid", oid).put("size", size);
            if (lfs.containsKey(oid)) {
                continue; // already stored: no actions
            }
            ObjectNode actions = r.putObject("actions");
            ObjectNode upload = actions.putObject("upload");
            if (size >= MULTIPART_FROM) {
                upload.put("href", endpoint() + "/api/complete_multipart/" + oid);
                ObjectNode header = upload.putObject("header").put("chunk_size", Long.toString(CHUNK));
                for (long n = 1; (n - 1) * CHUNK < size; n++) {
                    header.put(Long.toString(n), storageUrl("/part/" + oid + "/" + n));
                }
            } else {
                upload.put("href", storageUrl("/upload/" + oid));
            }
            actions.putObject("verify").put("href", endpoint() + "/api/lfs_verify/" + oid);
        }
        x.getResponseHeaders().add("Content-Type", "application/vnd.git-lfs+json");
        reply(x, 200, answer.toString());
    }

    private void storage(HttpExchange x, String path) throws IOException {
        Matcher whole = PUT_WHOLE.matcher(path);
        Matcher part = PUT_PART.matcher(path);
        if (whole.matches()) {
            byte[] bytes = body(x, null);
            if (!FakeHub.sha("SHA-256", bytes).equals(whole.group(1))) {
                error(x, 400, "sha256 mismatch");
                return;
            }
            lfs.put(whole.group(1), bytes);
            reply(x, 200, "");
        } else if (part.matches()) {
            String key = part.group(1) + "/" + part.group(2);
            if (refuseParts.contains(key)) {
                body(x, null);
                error(x, 503, "Slow Down");
                return;
            }
            byte[] bytes = body(x, cutPartOnce.remove(key) ? key : null);
            if (bytes == null) {
                return; // cut: the connection closes without an answer
            }
            parts.put(key, bytes);
            x.getResponseHeaders().add("ETag", "\"" + FakeHub.sha("SHA-256", bytes).substring(0, 32) + "\"");
            reply(x, 200, "");
        } else {
            error(x, 404, "no such storage path");
        }
    }

    private void complete(HttpExchange x, String oid) throws IOException {
        JsonNode body = json(x);
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (JsonNode p : body.path("parts")) {
            byte[] bytes = parts.get(oid + "/" + p.path("partNumber").asInt());
            String etag = bytes == null ? null : "\"" + FakeHub.sha("SHA-256", bytes).substring(0, 32) + "\"";
            if (bytes == null || !etag.equals(p.path("etag").asText())) {
                error(x, 400, "part " + p.path("partNumber").asInt() + " missing or its ETag differs");
                return;
            }
            all.write(bytes);
        }
        if (!FakeHub.sha("SHA-256", all.toByteArray()).equals(oid) || !oid.equals(body.path("oid").asText())) {
            error(x, 400, "the parts do not make the object " + oid);
            return;
        }
        lfs.put(oid, all.toByteArray());
        reply(x, 200, "{}");
    }

    private void commit(HttpExchange x, String name, String rev) throws IOException {
        Repo repo = repo(x, name);
        if (repo == null) {
            return;
        }
        if (commitsFail) {
            body(x, null);
            error(x, 503, "Service Unavailable");
            return;
        }
        Map<String, byte[]> files = repo.branches.get(rev);
        if (files == null) {
            x.getResponseHeaders().add("X-Error-Code", "RevisionNotFound");
            error(x, 404, "Invalid rev id: " + rev);
            return;
        }
        if (!"application/x-ndjson".equals(x.getRequestHeaders().getFirst("Content-Type"))) {
            error(x, 400, "expected NDJSON");
            return;
        }
        String text = new String(x.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        List<String> lines = text.lines().toList();
        if (lines.isEmpty() || !"header".equals(Json.untrusted().readTree(lines.get(0)).path("key").asText())) {
            error(x, 400, "the first line must be the header");
            return;
        }
        Map<String, byte[]> next = new TreeMap<>(files);
        for (String line : lines.subList(1, lines.size())) {
            JsonNode l = Json.untrusted().readTree(line);
            JsonNode v = l.path("value");
            switch (l.path("key").asText()) {
                case "file" -> {
                    byte[] content = Base64.getDecoder().decode(v.path("content").asText());
                    fileBytes.addAndGet(content.length);
                    next.put(v.path("path").asText(), content);
                }
                case "lfsFile" -> {
                    byte[] blob = lfs.get(v.path("oid").asText());
                    if (blob == null || blob.length != v.path("size").asLong()
                            || !"sha256".equals(v.path("algo").asText())) {
                        error(x, 400, "lfsFile " + v.path("path").asText() + ": no such uploaded object");
                        return;
                    }
                    next.put(v.path("path").asText(), blob);
                }
                default -> {
                    error(x, 400, "unknown line " + l.path("key").asText());
                    return;
                }
            }
        }
        files.clear();
        files.putAll(next);
        String oid = FakeHub.sha("SHA-1", (name + rev + repo.commits.size() + text).getBytes(StandardCharsets.UTF_8));
        repo.commits.add(oid);
        reply(x, 200, "{\"commitUrl\":\"" + endpoint() + "/" + name + "/commit/" + oid + "\",\"commitOid\":\""
                + oid + "\"}");
    }

    /** The request body, counted as file bytes; with {@code cutKey}, half of it is read and the connection dropped. */
    private byte[] body(HttpExchange x, String cutKey) throws IOException {
        InputStream in = x.getRequestBody();
        if (cutKey != null) {
            long length = Long.parseLong(x.getRequestHeaders().getFirst("Content-Length"));
            byte[] half = in.readNBytes((int) (length / 2));
            fileBytes.addAndGet(half.length);
            throw new IOException("cut " + cutKey + " after " + half.length + " bytes"); // HttpServer drops it
        }
        byte[] bytes = in.readAllBytes();
        fileBytes.addAndGet(bytes.length);
        return bytes;
    }

    static String gitSha1(byte[] content) {
        byte[] header = ("blob " + content.length + "\0").getBytes(StandardCharsets.US_ASCII);
        byte[] all = new byte[header.length + content.length];
        System.arraycopy(header, 0, all, 0, header.length);
        System.arraycopy(content, 0, all, header.length, content.length);
        return FakeHub.sha("SHA-1", all);
    }

    private static JsonNode json(HttpExchange x) throws IOException {
        return Json.untrusted().readTree(x.getRequestBody().readAllBytes());
    }

    private static void error(HttpExchange x, int code, String message) throws IOException {
        x.getResponseHeaders().add("X-Error-Message", message);
        reply(x, code, "{\"error\":" + JsonNodeFactory.instance.textNode(message) + "}");
    }

    private static void reply(HttpExchange x, int code, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        x.sendResponseHeaders(code, bytes.length == 0 ? -1 : bytes.length);
        if (bytes.length > 0) {
            try (OutputStream out = x.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    @Override
    public void close() {
        hub.stop(0);
        storage.stop(0);
    }
}

package org.orpo4j.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.orpo4j.runtime.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Uploads a folder to a hub model repository in one commit, as huggingface_hub's {@code upload_folder}: the
 * repository is created if missing ({@code /api/repos/create}), a branch too; the preupload endpoint says per file
 * whether it goes to git (small text) or LFS and which files the hub already has unchanged (skipped: a second push
 * of the same folder sends no file bytes and makes no commit); LFS files go through {@link LfsTransfer}; the commit
 * ({@code /api/models/<repo>/commit/<branch>}) is NDJSON lines: a header, then {@code file} (base64 content) or
 * {@code lfsFile} (sha256 and size) lines. A folder without a README.md gets a {@link ModelCard}.
 */
public final class HubPush {

    private static final Logger LOG = LoggerFactory.getLogger(HubPush.class);
    private static final int PREUPLOAD_CHUNK = 256;

    /** What a push did: the commit made (null when nothing changed), files committed and file bytes sent. */
    public record Result(String repo, String commit, int filesCommitted, int filesUnchanged, long bytesSent) {}

    /**
     * Options of a push; {@code skipCheckpoints} leaves out {@code checkpoint-*} folders and names starting with
     * {@code _}, as HF's Trainer does when it pushes its output.
     */
    public record Options(boolean privateRepo, String revision, String commitMessage, String baseModel,
            List<String> datasets, boolean skipCheckpoints) {
        public Options {
            revision = revision == null ? "main" : revision;
            commitMessage = commitMessage == null ? "Upload with orpo4j" : commitMessage;
            datasets = datasets == null ? List.of() : List.copyOf(datasets);
        }

        public Options(boolean privateRepo, String revision, String commitMessage, String baseModel,
                List<String> datasets) {
            this(privateRepo, revision, commitMessage, baseModel, datasets, false);
        }

        public static Options defaults() {
            return new Options(false, "main", null, null, List.of());
        }
    }

    private final HubHttp http;
    private final long progressEveryNanos;

    HubPush(URI endpoint, String token, long pauseMillis, long progressEveryNanos) {
        this.http = new HubHttp(endpoint, token, pauseMillis);
        this.progressEveryNanos = progressEveryNanos;
    }

    /** {@code HF_ENDPOINT} and the token of {@code HF_TOKEN} or the token file, as downloads use them. */
    public static HubPush fromEnvironment(Map<String, String> env) throws IOException {
        return new HubPush(HubClient.endpoint(env), HubClient.token(env), 1000, 5_000_000_000L);
    }

    /** True when a token was found (pushing needs one). */
    public boolean hasToken() {
        return http.hasToken();
    }

    /** Pushes every file of {@code folder} (but .git and .cache) to {@code repo} ({@code org/name}). */
    public Result push(Path folder, String repo, Options options) throws IOException {
        if (!http.hasToken()) {
            throw new HubException("pushing to " + repo + " needs a token: set HF_TOKEN (or log in with"
                    + " `huggingface-cli login`, which writes the token file)");
        }
        if (!Files.isDirectory(folder)) {
            throw new IOException(folder + ": not a folder");
        }
        RepoId id = new RepoId(repo.contains("/") ? repo : whoami(repo) + "/" + repo, options.revision(),
                RepoId.Type.MODEL);
        List<UploadFile> files = localFiles(folder, id, options);
        createRepo(id, options.privateRepo());
        if (!options.revision().equals("main")) {
            createBranch(id);
        }
        List<UploadFile> regular = new ArrayList<>();
        List<UploadFile> lfs = new ArrayList<>();
        int unchanged = preupload(id, files, regular, lfs);
        if (regular.isEmpty() && lfs.isEmpty()) {
            LOG.info("{}: all {} files are on the hub unchanged; nothing to commit", id, files.size());
            return new Result(id.name(), null, 0, unchanged, 0);
        }
        long lfsBytes = lfs.stream().mapToLong(UploadFile::size).sum();
        UploadProgress progress = new UploadProgress(id + " LFS upload", lfsBytes, progressEveryNanos);
        int sent = new LfsTransfer(http, id, progress).upload(lfs);
        if (!lfs.isEmpty()) {
            progress.done();
            LOG.info("{}: {} of {} LFS files uploaded, {} already on the hub", id, sent, lfs.size(), lfs.size() - sent);
        }
        long regularBytes = regular.stream().mapToLong(UploadFile::size).sum();
        String commit = commit(id, regular, lfs, options.commitMessage());
        LOG.info("{}: committed {} files ({} unchanged) as {}", id, regular.size() + lfs.size(), unchanged, commit);
        return new Result(id.name(), commit, regular.size() + lfs.size(), unchanged, progress.sent() + regularBytes);
    }

    private static List<UploadFile> localFiles(Path folder, RepoId id, Options options) throws IOException {
        List<UploadFile> files = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(folder)) {
            for (Path p : walk.filter(Files::isRegularFile).sorted().toList()) {
                String rel = folder.relativize(p).toString().replace('\\', '/');
                if (rel.startsWith(".git/") || rel.startsWith(".cache/") || rel.contains("/.git/")
                        || options.skipCheckpoints() && (rel.startsWith("checkpoint-") || rel.startsWith("_"))) {
                    continue;
                }
                files.add(UploadFile.of(rel, p));
            }
        }
        if (files.stream().noneMatch(f -> f.pathInRepo().equals("README.md"))) {
            String card = ModelCard.of(folder, id.name(), options.baseModel(), options.datasets());
            files.add(UploadFile.of("README.md", card.getBytes(StandardCharsets.UTF_8)));
        }
        if (files.isEmpty()) {
            throw new IOException(folder + ": nothing to push (no files)");
        }
        return files;
    }

    /** The token's user name ({@code /api/whoami-v2}): a repository name without org lives under it. */
    private String whoami(String repo) throws IOException {
        RepoId probe = new RepoId(repo, "main", RepoId.Type.MODEL);
        HttpResponse<byte[]> r = http.send(probe, "who the token belongs to", () -> HttpRequest.newBuilder(
                http.resolve("api/whoami-v2")).GET(), HttpResponse.BodyHandlers.ofByteArray());
        String name = Json.untrusted().readTree(r.body()).path("name").asText("");
        if (!RepoId.looksLikeRepo(name) || name.contains("/")) {
            throw new HubException(repo + ": the hub named no user for the token; give the repository as org/name");
        }
        return name;
    }

    /** Creates the repository; one that exists (409) is fine. */
    private void createRepo(RepoId id, boolean privateRepo) throws IOException {
        ObjectNode body = JsonNodeFactory.instance.objectNode();
        int slash = id.name().indexOf('/');
        body.put("name", id.name().substring(slash + 1));
        body.put("organization", id.name().substring(0, slash));
        body.put("visibility", privateRepo ? "private" : "public");
        body.put("type", "model");
        http.postJson(id, "create the repository", http.resolve("api/repos/create"), body, "application/json", 409);
    }

    private void createBranch(RepoId id) throws IOException {
        http.postJson(id, "create branch " + id.revision(), http.resolve("api/models/" + id.name() + "/branch/"
                + id.revision()), JsonNodeFactory.instance.objectNode(), "application/json", 409);
    }

    /** Sorts the files into git and LFS uploads, leaving out those the hub has unchanged; returns their count. */
    private int preupload(RepoId id, List<UploadFile> files, List<UploadFile> regular, List<UploadFile> lfs)
            throws IOException {
        int unchanged = 0;
        URI uri = http.resolve("api/models/" + id.name() + "/preupload/" + id.revision());
        for (int from = 0; from < files.size(); from += PREUPLOAD_CHUNK) {
            List<UploadFile> chunk = files.subList(from, Math.min(files.size(), from + PREUPLOAD_CHUNK));
            ObjectNode body = JsonNodeFactory.instance.objectNode();
            for (UploadFile f : chunk) {
                body.withArray("files").addObject().put("path", f.pathInRepo())
                        .put("sample", Base64.getEncoder().encodeToString(f.sample())).put("size", f.size());
            }
            JsonNode answer = http.postJson(id, "preupload", uri, body, "application/json");
            for (UploadFile f : chunk) {
                JsonNode info = null;
                for (JsonNode a : answer == null ? JsonNodeFactory.instance.arrayNode() : answer.path("files")) {
                    if (f.pathInRepo().equals(a.path("path").asText())) {
                        info = a;
                    }
                }
                String mode = info == null ? "" : info.path("uploadMode").asText("");
                if (!mode.equals("lfs") && !mode.equals("regular")) {
                    throw new HubException(id + ": preupload: the hub gave no upload mode for " + f.pathInRepo());
                }
                if (info.path("shouldIgnore").asBoolean(false)) {
                    continue;
                }
                boolean asLfs = mode.equals("lfs") && f.size() > 0;
                String remote = info.path("oid").isTextual() ? info.path("oid").asText() : null;
                if (remote != null && remote.equals(asLfs ? f.sha256() : f.gitSha1())) {
                    unchanged++;
                } else {
                    (asLfs ? lfs : regular).add(f);
                }
            }
        }
        return unchanged;
    }

    private String commit(RepoId id, List<UploadFile> regular, List<UploadFile> lfs, String message)
            throws IOException {
        ByteArrayOutputStream ndjson = new ByteArrayOutputStream();
        ObjectNode header = JsonNodeFactory.instance.objectNode().put("key", "header");
        header.putObject("value").put("summary", message).put("description", "");
        line(ndjson, header);
        for (UploadFile f : regular) {
            ObjectNode line = JsonNodeFactory.instance.objectNode().put("key", "file");
            line.putObject("value").put("content", Base64.getEncoder().encodeToString(f.readAll()))
                    .put("path", f.pathInRepo()).put("encoding", "base64");
            line(ndjson, line);
        }
        for (UploadFile f : lfs) {
            ObjectNode line = JsonNodeFactory.instance.objectNode().put("key", "lfsFile");
            line.putObject("value").put("path", f.pathInRepo()).put("algo", "sha256").put("oid", f.sha256())
                    .put("size", f.size());
            line(ndjson, line);
        }
        byte[] body = ndjson.toByteArray();
        URI uri = http.resolve("api/models/" + id.name() + "/commit/" + id.revision());
        HttpResponse<byte[]> r = http.send(id, "commit", () -> HttpRequest.newBuilder(uri)
                .header("Content-Type", "application/x-ndjson").POST(HttpRequest.BodyPublishers.ofByteArray(body)),
                HttpResponse.BodyHandlers.ofByteArray());
        JsonNode answer = r.body().length == 0 ? null : Json.untrusted().readTree(r.body());
        return answer == null ? "" : answer.path("commitOid").asText("");
    }

    private static void line(ByteArrayOutputStream out, JsonNode node) throws IOException {
        out.write(Json.untrusted().writeValueAsBytes(node));
        out.write('\n');
    }
}

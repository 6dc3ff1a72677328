package org.orpo4j.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.orpo4j.hub.HubPush;
import org.orpo4j.hub.RepoId;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code push}: a model or adapter folder uploaded to a hub repository in one commit. */
@Command(name = "push", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Upload a model or adapter folder to a hub model repository (created if missing) in one commit.")
final class PushCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--folder", required = true, paramLabel = "DIR", description = "The folder to upload.")
    Path folder;

    @Option(names = "--repo", required = true, paramLabel = "ORG/NAME", description = "The model repository.")
    String repo;

    @Option(names = "--private", description = "Create the repository private (an existing one keeps its visibility).")
    boolean privateRepo;

    @Option(names = "--revision", paramLabel = "BRANCH", defaultValue = "main",
            description = "The branch to commit to (created from main if missing). Default: ${DEFAULT-VALUE}.")
    String revision;

    @Option(names = "--commit-message", paramLabel = "TEXT", description = "Default: 'Upload with orpo4j'.")
    String message;

    @Option(names = "--base-model", paramLabel = "ORG/NAME",
            description = "The base model the card names. Default: the adapter's base, or config.json's _name_or_path.")
    String baseModel;

    @Option(names = "--dataset", paramLabel = "ORG/NAME", split = ",",
            description = "The data set(s) the card names, comma-separated.")
    List<String> datasets;

    @Override
    public Integer call() throws Exception {
        if (!RepoId.looksLikeRepo(repo) || repo.contains("@")) {
            throw new ParameterException(spec.commandLine(), "--repo " + repo + ": expected ORG/NAME (the branch goes"
                    + " in --revision)");
        }
        Inputs.folder(folder);
        HubPush.Result r = HubPush.fromEnvironment(System.getenv()).push(folder, repo,
                new HubPush.Options(privateRepo, revision, message, baseModel, datasets));
        PrintWriter out = spec.commandLine().getOut();
        if (r.commit() == null) {
            out.println(r.repo() + ": all " + r.filesUnchanged() + " files are already on the hub; nothing pushed");
        } else {
            out.println("pushed " + folder + " to " + r.repo() + (revision.equals("main") ? "" : "@" + revision) + ": "
                    + r.filesCommitted() + " files (" + r.filesUnchanged() + " unchanged), commit " + r.commit());
        }
        out.flush();
        return 0;
    }
}

package org.orpo4j.tracking;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.orpo4j.train.OrpoConfig;
import org.orpo4j.train.Settings;
import org.orpo4j.train.TrainerListener;

/**
 * The trackers a config's {@code reportTo} names, made before training (a missing MLflow address is refused here,
 * before anything heavy), added to the trainer as listeners and closed after it: {@code tensorboard} is a {@link
 * TensorBoardTracker}, {@code mlflow} an {@link MlflowTracker}; {@code jsonl} (metrics.jsonl, always written) and
 * {@code none} add nothing.
 */
public final class Trackers implements AutoCloseable {

    private final List<TrainerListener> listeners;

    private Trackers(List<TrainerListener> listeners) {
        this.listeners = List.copyOf(listeners);
    }

    /** The trackers of {@code config}, MLflow's settings read from {@code environment} (e.g. System.getenv()). */
    public static Trackers open(OrpoConfig config, Map<String, String> environment) {
        List<TrainerListener> made = new ArrayList<>();
        for (String name : config.get(Settings.REPORT_TO)) {
            switch (name) {
                case "tensorboard" -> {
                    require("com.google.protobuf.Message", "com.google.protobuf:protobuf-java", "TensorBoard files");
                    made.add(new TensorBoardTracker());
                }
                case "mlflow" -> {
                    require("org.mlflow.tracking.MlflowClient", "org.mlflow:mlflow-client", "MLflow");
                    made.add(new MlflowTracker(MlflowSettings.fromEnvironment(environment)));
                }
                case "jsonl", "none" -> { }
                default -> throw new IllegalArgumentException("unknown tracker " + name); // the setting's check
            }
        }
        return new Trackers(made);
    }

    /** Refuses, in one line, a tracker whose optional library is not on the class path. */
    private static void require(String className, String artifact, String what) {
        try {
            Class.forName(className, false, Trackers.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new IllegalArgumentException(what + " need " + artifact + " on the class path (an optional"
                    + " dependency of orpo4j: add it to the build; the CLI carries it)");
        }
    }

    /** The trackers, to add to the trainer. */
    public List<TrainerListener> listeners() {
        return listeners;
    }

    /** Closes each tracker (an MLflow run that did not end is marked FAILED after its buffered calls went out). */
    @Override
    public void close() {
        for (TrainerListener l : listeners) {
            if (l instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception e) {
                    org.slf4j.LoggerFactory.getLogger(Trackers.class).warn("closing {}: {}", l, e.toString());
                }
            }
        }
    }
}

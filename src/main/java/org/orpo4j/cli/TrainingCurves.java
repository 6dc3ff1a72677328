package org.orpo4j.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;
import org.orpo4j.train.MetricsWriter;

/**
 * A 2x2 PNG of a run's metrics.jsonl: loss, nll_loss, rewards/margins and rewards/accuracies against the step, the
 * held-out ({@code eval_}) values drawn over the training ones when present. Rendered headless by XChart.
 */
public final class TrainingCurves {

    private static final String[] PANELS = {"loss", "nll_loss", "rewards/margins", "rewards/accuracies"};
    private static final int WIDTH = 560;
    private static final int HEIGHT = 380;

    private TrainingCurves() {}

    /** Reads {@code metricsJsonl} and writes the chart to {@code png}. */
    public static void write(Path metricsJsonl, Path png, String title) throws IOException {
        write(metricsJsonl, Map.of(), png, title);
    }

    /**
     * As {@link #write(Path, Path, String)}, with the {@code eval_} metrics of the untrained model
     * ({@code initialEval}, may be empty) drawn as the held-out point at step 0.
     */
    public static void write(Path metricsJsonl, Map<String, Double> initialEval, Path png, String title)
            throws IOException {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
        List<Map<String, Object>> lines = new ArrayList<>();
        if (!initialEval.isEmpty()) {
            Map<String, Object> start = new LinkedHashMap<>(initialEval);
            start.put("step", 0L);
            lines.add(start);
        }
        lines.addAll(MetricsWriter.read(metricsJsonl));
        List<XYChart> charts = new ArrayList<>();
        for (String metric : PANELS) {
            XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title + metric)
                    .xAxisTitle("step").yAxisTitle(metric).build();
            chart.getStyler().setLegendPosition(metric.startsWith("rewards") ? Styler.LegendPosition.InsideSE
                    : Styler.LegendPosition.InsideNE);
            addSeries(chart, "train", lines, metric, false);
            addSeries(chart, "held-out", lines, "eval_" + metric, true);
            if (chart.getSeriesMap().isEmpty()) {
                throw new IOException(metricsJsonl + ": no '" + metric + "' values to plot");
            }
            charts.add(chart);
        }
        BitmapEncoder.saveBitmap(charts, 2, 2, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    private static void addSeries(XYChart chart, String name, List<Map<String, Object>> lines, String key,
            boolean markers) {
        List<Double> steps = new ArrayList<>();
        List<Double> values = new ArrayList<>();
        for (Map<String, Object> line : lines) {
            if (line.get(key) instanceof Number v && line.get("step") instanceof Number step) {
                steps.add(step.doubleValue());
                values.add(v.doubleValue());
            }
        }
        if (!steps.isEmpty()) {
            chart.addSeries(name, steps, values).setMarker(markers ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
        }
    }
}

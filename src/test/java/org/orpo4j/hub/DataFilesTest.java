package org.orpo4j.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Split files as the datasets library's default patterns find them in the layouts hub datasets use. */
class DataFilesTest {

    @Test
    void parquetShardsUnderData() {
        List<String> files = List.of(".gitattributes", "README.md", "data/train-00000-of-00002.parquet",
                "data/train-00001-of-00002.parquet", "data/test-00000-of-00001.parquet");
        assertEquals(List.of("data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet"),
                DataFiles.forSplit(files, "train"));
        assertEquals(List.of("data/test-00000-of-00001.parquet"), DataFiles.forSplit(files, "test"));
        assertEquals(List.of("test", "train"), DataFiles.splits(files));
    }

    @Test
    void aFolderPerSplitUnderAConfig() {
        List<String> files = List.of("default/train/0000.parquet", "default/train/0001.parquet",
                "default/validation/0000.parquet");
        assertEquals(List.of("default/train/0000.parquet", "default/train/0001.parquet"),
                DataFiles.forSplit(files, "train"));
        assertEquals(List.of("default/validation/0000.parquet"), DataFiles.forSplit(files, "validation"));
    }

    @Test
    void jsonFilesNamedAfterTheSplit() {
        List<String> files = List.of("train.jsonl", "data/test.jsonl", "prefs_train.json", "trainer_notes.json",
                "pretrain.jsonl", "latest.json", "train.csv");
        assertEquals(List.of("prefs_train.json", "train.jsonl"), DataFiles.forSplit(files, "train"));
        assertEquals(List.of("data/test.jsonl"), DataFiles.forSplit(files, "test"));
    }

    @Test
    void theDatasetsLibrarysSynonymsAndFolderNames() {
        List<String> files = List.of("data/training-00000.parquet", "data/dev.jsonl", "eval/part-0.parquet",
                "data-test/rows.json", "evaluations/rows.json", "devices.json");
        assertEquals(List.of("data/training-00000.parquet"), DataFiles.forSplit(files, "train"));
        assertEquals(List.of("data/dev.jsonl"), DataFiles.forSplit(files, "validation"));
        assertEquals(List.of("data-test/rows.json", "eval/part-0.parquet"), DataFiles.forSplit(files, "test"));
        assertEquals(List.of("test", "train", "validation"), DataFiles.splits(files));
    }
}

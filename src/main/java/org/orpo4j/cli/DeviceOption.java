package org.orpo4j.cli;

import ai.djl.Device;
import org.orpo4j.runtime.DjlRuntime;
import picocli.CommandLine.Option;

/** {@code --device cpu|cuda|cuda:N}, shared by the commands that run a model; default: a GPU when DJL sees one. */
final class DeviceOption {

    @Option(names = "--device", paramLabel = "DEV",
            description = "cpu, cuda or cuda:N; without it the first GPU PyTorch sees, else cpu.")
    String device;

    /** The chosen device, checked against what the engine sees. */
    Device resolve() {
        return device == null ? DjlRuntime.defaultDevice() : DjlRuntime.device(device);
    }
}

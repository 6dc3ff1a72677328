package org.orpo4j.cli;

import java.util.List;
import java.util.Map;
import org.orpo4j.model.LoadOptions;
import org.orpo4j.quantization.QuantConfig;
import org.orpo4j.quantization.QuantType;
import org.orpo4j.train.OrpoConfig;
import org.orpo4j.train.Setting;
import org.orpo4j.train.Settings;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/**
 * The base model in 4 bits: {@code --load-in-4bit}, {@code --bnb-4bit-quant-type}, {@code --use-bnb-nested-quant}
 * (TRL's ModelConfig), made from the settings table. {@code train} reads them through its config; {@code eval},
 * {@code generate} and {@code merge}, which train nothing, read them here into the model's {@link LoadOptions}.
 */
final class FourBitOptions {

    static final List<Setting<?>> SETTINGS = List.of(Settings.LOAD_IN_4BIT, Settings.BNB_4BIT_QUANT_TYPE,
            Settings.USE_BNB_NESTED_QUANT);

    private FourBitOptions() {}

    /** Adds the three options to {@code spec}. */
    static CommandSpec addTo(CommandSpec spec) {
        return new SettingOptions(SETTINGS, Map.of()).addTo(spec);
    }

    /** A picocli model transformer adding the options, for commands with no other table options. */
    static final class Transformer implements CommandLine.IModelTransformer {
        @Override
        public CommandSpec transform(CommandSpec spec) {
            return addTo(spec);
        }
    }

    /** How {@code train} loads its base: quantized as the config says when it sets {@code loadIn4bit}. */
    static LoadOptions of(OrpoConfig config) {
        return config.get(Settings.LOAD_IN_4BIT) ? LoadOptions.loadIn4bit(QuantConfig.of(
                config.get(Settings.BNB_4BIT_QUANT_TYPE), config.get(Settings.USE_BNB_NESTED_QUANT)))
                : LoadOptions.defaults();
    }

    /** The load options the command line of {@code cmd} asks for; a bad value is bad usage naming its flag. */
    static LoadOptions read(ParseResult parsed, CommandLine cmd) {
        checkUsedWith4bit(parsed, cmd);
        if (!parsed.hasMatchedOption(Settings.LOAD_IN_4BIT.flag().name())) {
            return LoadOptions.defaults();
        }
        String typeFlag = Settings.BNB_4BIT_QUANT_TYPE.flag().name();
        QuantType type = Settings.BNB_4BIT_QUANT_TYPE.defaultValue();
        if (parsed.hasMatchedOption(typeFlag)) {
            String text = parsed.matchedOption(typeFlag).getValue();
            try {
                type = Settings.BNB_4BIT_QUANT_TYPE.kind().parse(text);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(cmd, typeFlag + " " + text + " must be "
                        + Settings.BNB_4BIT_QUANT_TYPE.kind().expected());
            }
        }
        return LoadOptions.loadIn4bit(QuantConfig.of(type,
                parsed.hasMatchedOption(Settings.USE_BNB_NESTED_QUANT.flag().name())));
    }

    /** The quant type and nested flags only mean something with {@code --load-in-4bit}: bad usage without it. */
    static void checkUsedWith4bit(ParseResult parsed, CommandLine cmd) {
        checkUsedWith4bit(parsed, cmd, parsed.hasMatchedOption(Settings.LOAD_IN_4BIT.flag().name()));
    }

    /** As {@link #checkUsedWith4bit(ParseResult, CommandLine)}, 4-bit loading decided elsewhere (a config file). */
    static void checkUsedWith4bit(ParseResult parsed, CommandLine cmd, boolean loadIn4bit) {
        if (loadIn4bit) {
            return;
        }
        for (Setting<?> s : List.of(Settings.BNB_4BIT_QUANT_TYPE, Settings.USE_BNB_NESTED_QUANT)) {
            if (parsed.hasMatchedOption(s.flag().name())) {
                throw new ParameterException(cmd, s.flag().name() + " only applies to a 4-bit load: add "
                        + Settings.LOAD_IN_4BIT.flag().name());
            }
        }
    }
}

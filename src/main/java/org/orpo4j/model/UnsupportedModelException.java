package org.orpo4j.model;

/**
 * A config.json whose {@code model_type} (or a feature such as a rope type or activation) orpo4j's forward pass does
 * not implement; refused up front so a user never trains a silently different model.
 */
public final class UnsupportedModelException extends IllegalArgumentException {

    private final String modelType;

    public UnsupportedModelException(String modelType, String message) {
        super(message);
        this.modelType = modelType;
    }

    /** The refusal of an unknown {@code model_type}, naming it, the file and the supported list. */
    static UnsupportedModelException forModelType(String modelType, String source) {
        return new UnsupportedModelException(modelType, source + ": model_type '" + modelType
                + "' is not supported (supported: " + String.join(", ", ModelConfig.SUPPORTED_MODEL_TYPES) + ")");
    }

    /** The rejected model_type (or the model_type whose feature was rejected); may be null when absent. */
    public String modelType() {
        return modelType;
    }
}

package dev.sixpd.nn.io;

/** A checkpoint (or safetensors file) that is missing, corrupt or does not match the model; the message says why. */
public final class CheckpointException extends RuntimeException {
    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}

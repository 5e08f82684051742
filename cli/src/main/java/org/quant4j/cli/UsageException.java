package org.quant4j.cli;

/** Wrong command-line usage: exit code 2, with the message and a hint to {@code --help}. */
final class UsageException extends RuntimeException {
    UsageException(String message) {
        super(message);
    }
}

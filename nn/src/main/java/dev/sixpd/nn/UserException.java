package dev.sixpd.nn;

/** An error the user can fix; the message names the problem and what to do. Printed as one line, exit code 2. */
public final class UserException extends RuntimeException {
    public UserException(String message) {
        super(message);
    }
}

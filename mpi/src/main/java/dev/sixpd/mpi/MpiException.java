package dev.sixpd.mpi;

/**
 * An MPI call returned an error code: the exception names the call with its arguments and carries MPI's own error
 * string ({@code MPI_Error_string}) and error class ({@code MPI_Error_class}, e.g. {@code MPI_ERR_ROOT} = 8).
 *
 * <p>Thrown by {@link Mpi} on the calling rank only. The other ranks may be waiting in the same collective: a rank
 * that cannot continue should call {@link Mpi#abort} (which ends every rank) rather than return quietly.
 */
public final class MpiException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String call;
    private final int errorCode;
    private final int errorClass;

    MpiException(String call, int errorCode, int errorClass, String mpiMessage) {
        super(call + " failed: " + mpiMessage + " (MPI error code " + errorCode + ", class " + errorClass + ")");
        this.call = call;
        this.errorCode = errorCode;
        this.errorClass = errorClass;
    }

    /** The failed call with its arguments, e.g. {@code MPI_Bcast(count=4, type=FLOAT, root=7)}. */
    public String call() {
        return call;
    }

    /** The code the call returned. */
    public int errorCode() {
        return errorCode;
    }

    /** The code's MPI error class ({@code MPI_Error_class}); compare with the {@code Mpi.ERR_*} constants. */
    public int errorClass() {
        return errorClass;
    }
}

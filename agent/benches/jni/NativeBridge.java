package io.semifaas.agent;

/**
 * What the agent's natives cost a request that runs locally at ratio 0: {@code shouldOffload} on
 * entry, {@code recordLocal} on exit (its CPU time measured one run in 16, as the Java side does),
 * for a handler that is a candidate. Prints one line per round and the rounds' median.
 */
public final class NativeBridge {
    static native String init(String[] keys, String[] values);
    static native long handlerId(String handlerKey);
    static native boolean shouldOffload(long handlerId);
    static native void recordLocal(long handlerId, long wallNanos, long cpuNanos);

    // Looked up by the agent on init; not called here.
    static Object classBytes(String binaryName) { return null; }
    static void learnClass(String handlerKey, String binaryName) {}
    static Object resourceBytes(String path) { return null; }
    static Object invokeRemote(long scopeId, long refId, String methodName, String descriptor,
            byte[] args, boolean shadow, int seq) { return null; }

    public static void main(String[] args) {
        System.loadLibrary("semifaas_agent");
        int rounds = Integer.parseInt(args[0]);
        long requests = Long.parseLong(args[1]);
        String error = init(
                new String[] {"semifaas.ratio", "semifaas.admin.port", "semifaas.min-cpu-ms",
                    "semifaas.profile.samples", "semifaas.log", "semifaas.lambda.endpoint",
                    "semifaas.function"},
                new String[] {"0", "0", "0", "0", "warn", "http://127.0.0.1:9", "hot-path"});
        if (error != null) {
            throw new IllegalStateException(error);
        }
        long id = handlerId("com.example.ImageController#health");
        if (id <= 0) {
            throw new IllegalStateException("no handler id: " + id);
        }
        double[] perRequest = new double[rounds];
        for (int round = -1; round < rounds; round++) { // round -1 warms the JIT up
            long offloaded = 0;
            long start = System.nanoTime();
            for (long i = 0; i < requests; i++) {
                if (shouldOffload(id)) {
                    offloaded++;
                }
                recordLocal(id, 30_000, i % 16 == 0 ? 20_000 : -1);
            }
            double ns = (System.nanoTime() - start) / (double) requests;
            if (offloaded != 0) {
                throw new IllegalStateException(offloaded + " offloads at ratio 0");
            }
            if (round >= 0) {
                perRequest[round] = ns;
                System.out.printf("round %d: %.1f ns per request%n", round + 1, ns);
            }
        }
        java.util.Arrays.sort(perRequest);
        System.out.printf("median %.1f%n", perRequest[rounds / 2]);
    }
}

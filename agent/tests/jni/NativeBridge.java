package io.semifaas.agent;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Stand-in for the agent's NativeBridge with the same natives and callbacks, driving the native
 * library through its JNI contract. Args: platform URL, admin port. Prints the /stats JSON last.
 */
public final class NativeBridge {
    /** The admin token this test sets, so it can read /stats. */
    private static final String ADMIN_TOKEN = "jni-bridge-test-token-0123456789abcdef";
    static native String[] configKeys();
    static native String init(String[] keys, String[] values);
    static native long handlerId(String handlerKey);
    static native boolean shouldOffload(long handlerId);
    static native String registerClosure(String handlerKey, String className, String methodName,
            String descriptor, byte[] receiver, String[] classNames, byte[][] classBytes);
    static native byte[] offload(String handlerKey, String closureId, byte[] args, long scopeId);
    static native void recordSample(String handlerKey, String closureId, byte[] args);
    static native void recordLocal(long handlerId, long wallNanos, long cpuNanos);
    static native void recordIneligible(String handlerKey, String reason);
    static native void recordOffloadFailure(String handlerKey, String reason);
    static native void recordReexecuted(String handlerKey);
    static native void recordDiverged(String handlerKey, String reason);
    static native void recordCallLog(int entries, long bytes, boolean overCap, long bytesInUse);

    static final byte[] HELPER = {(byte) 0xCA, (byte) 0xFE, (byte) 0xBA, (byte) 0xBE, 7};

    static Object classBytes(String binaryName) {
        return binaryName.equals("com.example.Helper") ? HELPER : null;
    }

    static void learnClass(String handlerKey, String binaryName) {}

    static Object resourceBytes(String path) {
        return null;
    }

    /**
     * Answers a "returned" outcome naming what arrived:
     * remote:scope:ref:method:descriptor:shadow:seq:args.
     */
    static Object invokeRemote(long scopeId, long refId, String methodName, String descriptor, byte[] args,
            boolean shadow, int seq) {
        String text = "remote:" + scopeId + ":" + refId + ":" + methodName + ":" + descriptor + ":" + shadow + ":"
                + seq + ":" + new String(args, StandardCharsets.UTF_8);
        byte[] body = text.getBytes(StandardCharsets.UTF_8);
        byte[] outcome = new byte[body.length + 1];
        System.arraycopy(body, 0, outcome, 1, body.length);
        return outcome;
    }

    static void check(boolean condition, String what) {
        if (!condition) {
            throw new AssertionError(what);
        }
    }

    static final String H = "com.example.ImageController#resize";
    static final byte[] CLASS = {(byte) 0xCA, (byte) 0xFE, (byte) 0xBA, (byte) 0xBE, 0, 0, 0, 61};

    static String register(String className, byte[] classBytes) {
        return registerClosure(H, className, "resize", "([B)[B", "receiver|".getBytes(StandardCharsets.UTF_8),
                new String[] {"com.example.ImageController"}, new byte[][] {classBytes});
    }

    static void expectIllegalArgument(Runnable call, String what) {
        try {
            call.run();
        } catch (IllegalArgumentException e) {
            System.out.println("rejected " + what + ": " + e.getMessage());
            return;
        }
        throw new AssertionError(what + " must throw IllegalArgumentException");
    }

    public static void main(String[] args) throws Exception {
        System.loadLibrary("semifaas_agent");
        String platform = args[0];
        String adminPort = args[1];

        // Before init everything fails open.
        check(handlerId(H) == 0, "handlerId before init");
        check(!shouldOffload(0), "shouldOffload before init");
        check(offload(H, "00", new byte[0], 0) == null, "offload before init");
        recordSample(H, "00", new byte[0]);
        recordLocal(0, 1, 1);

        String[] known = configKeys();
        check(known != null && Arrays.asList(known).containsAll(Arrays.asList("semifaas.ratio",
                "semifaas.enabled", "semifaas.placement-header")), "configKeys: " + Arrays.toString(known));
        String bad = init(new String[] {"semifaas.ratio"}, new String[] {"2"});
        check(bad != null && bad.contains("semifaas.ratio"), "bad ratio message: " + bad);
        String unknown = init(new String[] {"semifaas.nope"}, new String[] {"1"});
        check(unknown != null && unknown.contains("semifaas.nope"), "unknown key message: " + unknown);
        String typo = init(new String[] {"semifaas.ration"}, new String[] {"1"});
        check(typo != null && typo.contains("did you mean semifaas.ratio?"), "typo message: " + typo);
        String mismatch = init(new String[] {"semifaas.ratio"}, new String[0]);
        check(mismatch != null, "keys without values");

        String[] keys = {"semifaas.ratio", "semifaas.lambda.endpoint", "semifaas.function", "semifaas.admin.port",
            "semifaas.timeout-ms", "semifaas.log", "semifaas.profile.samples", "semifaas.min-cpu-ms",
            "semifaas.admin.token"};
        String[] values = {"1", platform, "fetcher", adminPort, "20000", "warn", "0", "0", ADMIN_TOKEN};
        String error = init(keys, values);
        check(error == null, "init failed: " + error);
        String again = init(keys, values);
        check(again != null && again.contains("already initialized"), "second init: " + again);

        long h = handlerId(H);
        check(h > 0 && handlerId(H) == h, "one id per handler: " + h);
        check(handlerId(null) == 0, "no id for a null key");
        check(shouldOffload(h), "ratio 1 offloads");
        check(!shouldOffload(h + 1000) && !shouldOffload(0) && !shouldOffload(-1), "an id no handler has runs locally");
        expectIllegalArgument(() -> register("com.example.ImageController", "not a class".getBytes()), "bad class bytes");
        expectIllegalArgument(() -> register(null, CLASS), "null class name");
        expectIllegalArgument(() -> registerClosure(H, "com.example.ImageController", "resize", "([B)[B", new byte[0],
                new String[] {"a.B"}, new byte[0][]), "names without bytes");
        String id = register("com.example.ImageController", CLASS);
        check(id != null && id.length() == 64, "closure id " + id);

        byte[] outcome = offload(H, id, "args".getBytes(StandardCharsets.UTF_8), 77);
        check(outcome != null && outcome[0] == 0, "returned outcome: " + Arrays.toString(outcome));
        byte[] expected = new byte["receiver|".length() + HELPER.length];
        System.arraycopy("receiver|".getBytes(StandardCharsets.UTF_8), 0, expected, 0, "receiver|".length());
        System.arraycopy(HELPER, 0, expected, "receiver|".length(), HELPER.length);
        check(Arrays.equals(Arrays.copyOfRange(outcome, 1, outcome.length), expected),
                "outcome body " + Arrays.toString(outcome));

        String remote = "com.example.ImageController#remote";
        String remoteId = registerClosure(remote, "com.example.ImageController", "remote", "([B)[B",
                "receiver|".getBytes(StandardCharsets.UTF_8), new String[] {"com.example.ImageController"},
                new byte[][] {CLASS});
        byte[] remoteOutcome = offload(remote, remoteId, "x".getBytes(StandardCharsets.UTF_8), -3);
        check(remoteOutcome != null && remoteOutcome[0] == 0, "remote outcome: " + Arrays.toString(remoteOutcome));
        String remoteText = new String(remoteOutcome, StandardCharsets.UTF_8);
        check(remoteText.endsWith("remote:-3:5:describe:([B)[B:false:1:x"), "remote call: " + remoteText);

        recordSample(H, id, "sample".getBytes(StandardCharsets.UTF_8));
        recordSample(H, "not hex", new byte[0]);
        recordSample(null, id, null);

        check(shouldOffload(h), "second offload");
        check(offload(H, "not hex", new byte[0], 0) == null, "bad closure id fails open");
        check(offload(null, id, null, 0) == null, "null arguments fail open");
        recordLocal(h, 2_000_000, 1_500_000);
        recordLocal(h + 1000, 1, 1);
        recordLocal(0, 1, 1);
        recordIneligible("com.example.Other#get", "returns a CompletableFuture");
        recordOffloadFailure(H, "could not decode the return value");
        recordReexecuted(H);
        recordDiverged(H, "call #2 called save with other arguments than the first time");
        recordCallLog(3, 4096, false, 0);
        recordCallLog(0, 0, true, 0);

        HttpResponse<String> stats = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/stats"))
                        .header("Authorization", "Bearer " + ADMIN_TOKEN)
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        check(stats.statusCode() == 200, "GET /stats: " + stats.statusCode());
        System.out.println(stats.body());
    }
}

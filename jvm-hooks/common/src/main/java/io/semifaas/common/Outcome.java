package io.semifaas.common;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The tagged outcome bytes of docs/internals.md: one tag byte, then the body. {@link #RETURNED}:
 * codec bytes of the return value; {@link #THREW}: codec bytes of the Throwable; {@link #FAILED}: a
 * UTF-8 message saying why the handler could not run there.
 */
public final class Outcome {
  public static final byte RETURNED = 0;
  public static final byte THREW = 1;
  public static final byte FAILED = 2;

  /**
   * How a failed outcome starts when the handler changed its receiver on the function: the
   * receiver is shared with every other request, so the change would fork it. The server demotes
   * the handler.
   */
  public static final String RECEIVER_CHANGED =
      "the handler changed its receiver, which other requests share: ";

  private Outcome() {}

  public static byte[] returned(Object value) throws CodecException {
    return tagged(RETURNED, ObjectCodec.serialize(value));
  }

  /** A returned outcome whose value is encoded with {@code hooks} (see {@link ObjectCodec}). */
  public static byte[] returned(Object value, CodecHooks hooks) throws CodecException {
    return tagged(RETURNED, ObjectCodec.serialize(value, hooks));
  }

  public static byte[] threw(Throwable t) throws CodecException {
    return threw(t, null);
  }

  /** A thrown outcome encoded with {@code hooks} (see {@link ObjectCodec}). */
  public static byte[] threw(Throwable t, CodecHooks hooks) throws CodecException {
    if (t == null) {
      throw new CodecException("cannot encode a thrown outcome without a Throwable (null)");
    }
    return tagged(THREW, ObjectCodec.serialize(t, hooks));
  }

  public static byte[] failed(String message) {
    String text = message == null ? "no detail" : message;
    return tagged(FAILED, text.getBytes(StandardCharsets.UTF_8));
  }

  /** The tag of {@code tagged}, checked to be one of the three known tags. */
  public static byte tag(byte[] tagged) throws CodecException {
    if (tagged == null || tagged.length == 0) {
      throw new CodecException("the outcome is empty: no tag byte");
    }
    byte tag = tagged[0];
    if (tag != RETURNED && tag != THREW && tag != FAILED) {
      throw new CodecException("the outcome has an unknown tag " + tag + " (expected 0, 1 or 2)");
    }
    return tag;
  }

  /**
   * The decoded body: the return value for {@link #RETURNED}, the Throwable for {@link #THREW}, the
   * message String for {@link #FAILED}.
   */
  public static Object body(byte[] tagged, ClassLoader loader) throws CodecException {
    return body(tagged, loader, null);
  }

  /** {@link #body(byte[], ClassLoader)} decoding with {@code hooks}. */
  public static Object body(byte[] tagged, ClassLoader loader, CodecHooks hooks)
      throws CodecException {
    byte tag = tag(tagged);
    byte[] body = Arrays.copyOfRange(tagged, 1, tagged.length);
    switch (tag) {
      case RETURNED:
        return ObjectCodec.deserialize(body, loader, hooks);
      case THREW:
        Object thrown = ObjectCodec.deserialize(body, loader, hooks);
        if (!(thrown instanceof Throwable)) {
          throw new CodecException(
              "a thrown outcome holds a "
                  + (thrown == null ? "null" : thrown.getClass().getName())
                  + ", not a Throwable");
        }
        return thrown;
      default:
        return new String(body, StandardCharsets.UTF_8);
    }
  }

  /**
   * Server side: returns the value, or throws the decoded Throwable exactly (same type and
   * message). A {@link #FAILED} outcome, or bytes that do not decode, throw {@link CodecException}.
   */
  public static Object unwrap(byte[] tagged, ClassLoader loader) throws Throwable {
    Object body = body(tagged, loader);
    switch (tag(tagged)) {
      case RETURNED:
        return body;
      case THREW:
        throw (Throwable) body;
      default:
        throw new CodecException("the function could not run the handler: " + body);
    }
  }

  private static byte[] tagged(byte tag, byte[] body) {
    byte[] out = new byte[body.length + 1];
    out[0] = tag;
    System.arraycopy(body, 0, out, 1, body.length);
    return out;
  }
}

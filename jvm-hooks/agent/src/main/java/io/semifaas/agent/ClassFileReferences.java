package io.semifaas.agent;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The classes a class file refers to, read from its constant pool. Used to ship the classes the
 * function's verifier and first run will need (exception types, helpers) with the closure.
 */
final class ClassFileReferences {
  private static final int MAGIC = 0xCAFEBABE;

  private ClassFileReferences() {}

  /** Binary names ({@code a.b.C}) of the classes referenced; empty when the bytes do not parse. */
  static Set<String> of(byte[] classFile) {
    try {
      return parse(ByteBuffer.wrap(classFile));
    } catch (RuntimeException e) {
      return Set.of();
    }
  }

  private static Set<String> parse(ByteBuffer in) {
    if (in.getInt() != MAGIC) {
      return Set.of();
    }
    in.getShort(); // minor version
    in.getShort(); // major version
    int count = Short.toUnsignedInt(in.getShort());
    String[] utf8 = new String[count];
    int[] classNameIndex = new int[count];
    for (int i = 1; i < count; i++) {
      int tag = Byte.toUnsignedInt(in.get());
      switch (tag) {
        case 1 -> {
          byte[] bytes = new byte[Short.toUnsignedInt(in.getShort())];
          in.get(bytes);
          // Modified UTF-8 equals UTF-8 for the characters class names use.
          utf8[i] = new String(bytes, StandardCharsets.UTF_8);
        }
        case 7 -> classNameIndex[i] = Short.toUnsignedInt(in.getShort());
        case 8, 16, 19, 20 -> in.getShort();
        case 15 -> {
          in.get();
          in.getShort();
        }
        case 3, 4, 9, 10, 11, 12, 17, 18 -> in.getInt();
        case 5, 6 -> {
          in.getLong();
          i++; // eight-byte constants take two slots
        }
        default -> {
          return Set.of();
        }
      }
    }
    Set<String> names = new LinkedHashSet<>();
    for (int index : classNameIndex) {
      if (index > 0 && index < count && utf8[index] != null) {
        String name = elementName(utf8[index]);
        if (name != null) {
          names.add(name.replace('/', '.'));
        }
      }
    }
    return names;
  }

  /**
   * {@code a/b/C} for {@code a/b/C} and array forms like {@code [[La/b/C;}; null for primitives.
   */
  private static String elementName(String internal) {
    if (!internal.startsWith("[")) {
      return internal;
    }
    int start = internal.lastIndexOf('[') + 1;
    if (internal.length() > start + 2 && internal.charAt(start) == 'L' && internal.endsWith(";")) {
      return internal.substring(start + 1, internal.length() - 1);
    }
    return null;
  }
}

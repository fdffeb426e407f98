package io.semifaas.agent;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * What a class file refers to, read from its constant pool: the classes it names (to ship the
 * classes the function's verifier and first run will need with the closure) and the methods it
 * calls (the remote calls a closure may make, see {@link ClosureReferences}).
 */
final class ClassFileReferences {
  private static final int MAGIC = 0xCAFEBABE;

  private static final int UTF8 = 1;
  private static final int CLASS = 7;
  private static final int FIELD_REF = 9;
  private static final int METHOD_REF = 10;
  private static final int INTERFACE_METHOD_REF = 11;
  private static final int NAME_AND_TYPE = 12;

  /** A method a class file calls: its owner as the call site names it (binary name). */
  record MethodRef(String owner, String name, String descriptor) {}

  /**
   * The references of one class file: the classes its class constants name, the types in the
   * descriptors of the fields and methods it uses, and the methods it calls.
   */
  record References(Set<String> classes, Set<String> descriptorTypes, Set<MethodRef> methods) {
    static final References NONE = new References(Set.of(), Set.of(), Set.of());
  }

  private ClassFileReferences() {}

  /** Binary names ({@code a.b.C}) of the classes referenced; empty when the bytes do not parse. */
  static Set<String> of(byte[] classFile) {
    return read(classFile).classes();
  }

  /** Everything {@code classFile} refers to; {@link References#NONE} when it does not parse. */
  static References read(byte[] classFile) {
    try {
      return parse(ByteBuffer.wrap(classFile));
    } catch (RuntimeException e) {
      return References.NONE;
    }
  }

  private static References parse(ByteBuffer in) {
    if (in.getInt() != MAGIC) {
      return References.NONE;
    }
    in.getShort(); // minor version
    in.getShort(); // major version
    int count = Short.toUnsignedInt(in.getShort());
    int[] tags = new int[count];
    String[] utf8 = new String[count];
    // The two indexes of class, member-reference and name-and-type constants.
    int[] first = new int[count];
    int[] second = new int[count];
    for (int i = 1; i < count; i++) {
      int tag = Byte.toUnsignedInt(in.get());
      tags[i] = tag;
      switch (tag) {
        case UTF8 -> {
          byte[] bytes = new byte[Short.toUnsignedInt(in.getShort())];
          in.get(bytes);
          // Modified UTF-8 equals UTF-8 for the characters class and method names use.
          utf8[i] = new String(bytes, StandardCharsets.UTF_8);
        }
        case CLASS -> first[i] = Short.toUnsignedInt(in.getShort());
        case FIELD_REF, METHOD_REF, INTERFACE_METHOD_REF, NAME_AND_TYPE -> {
          first[i] = Short.toUnsignedInt(in.getShort());
          second[i] = Short.toUnsignedInt(in.getShort());
        }
        case 8, 16, 19, 20 -> in.getShort();
        case 15 -> {
          in.get();
          in.getShort();
        }
        case 3, 4, 17, 18 -> in.getInt();
        case 5, 6 -> {
          in.getLong();
          i++; // eight-byte constants take two slots
        }
        default -> {
          return References.NONE;
        }
      }
    }
    Set<String> classes = new LinkedHashSet<>();
    Set<String> descriptorTypes = new LinkedHashSet<>();
    Set<MethodRef> methods = new LinkedHashSet<>();
    for (int i = 1; i < count; i++) {
      switch (tags[i]) {
        case CLASS -> {
          String name = elementName(at(utf8, first[i]));
          if (name != null) {
            classes.add(name.replace('/', '.'));
          }
        }
        case NAME_AND_TYPE -> addDescriptorTypes(at(utf8, second[i]), descriptorTypes);
        case METHOD_REF, INTERFACE_METHOD_REF -> {
          int owner = first[i];
          int nameAndType = second[i];
          if (at(tags, owner) == CLASS && at(tags, nameAndType) == NAME_AND_TYPE) {
            String ownerName = at(utf8, first[owner]);
            String name = at(utf8, first[nameAndType]);
            String descriptor = at(utf8, second[nameAndType]);
            if (ownerName != null && name != null && descriptor != null) {
              methods.add(new MethodRef(ownerName.replace('/', '.'), name, descriptor));
            }
          }
        }
        default -> {}
      }
    }
    return new References(classes, descriptorTypes, methods);
  }

  private static String at(String[] values, int index) {
    return index > 0 && index < values.length ? values[index] : null;
  }

  private static int at(int[] values, int index) {
    return index > 0 && index < values.length ? values[index] : 0;
  }

  /** Adds the classes a field or method descriptor names ({@code Lx/Y;}). */
  private static void addDescriptorTypes(String descriptor, Set<String> classes) {
    if (descriptor == null) {
      return;
    }
    int start = descriptor.indexOf('L');
    while (start >= 0) {
      int end = descriptor.indexOf(';', start);
      if (end < 0) {
        return;
      }
      classes.add(descriptor.substring(start + 1, end).replace('/', '.'));
      start = descriptor.indexOf('L', end);
    }
  }

  /**
   * {@code a/b/C} for {@code a/b/C} and array forms like {@code [[La/b/C;}; null for primitives.
   */
  private static String elementName(String internal) {
    if (internal == null || !internal.startsWith("[")) {
      return internal;
    }
    int start = internal.lastIndexOf('[') + 1;
    if (internal.length() > start + 2 && internal.charAt(start) == 'L' && internal.endsWith(";")) {
      return internal.substring(start + 1, internal.length() - 1);
    }
    return null;
  }
}

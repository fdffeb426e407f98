package io.semifaas.agent;

import java.util.List;

/** The class files shipped with a closure: parallel lists of binary names and bytes. */
record CodeSection(List<String> classNames, List<byte[]> classBytes) {
  String[] namesArray() {
    return classNames.toArray(new String[0]);
  }

  byte[][] bytesArray() {
    return classBytes.toArray(new byte[0][]);
  }
}

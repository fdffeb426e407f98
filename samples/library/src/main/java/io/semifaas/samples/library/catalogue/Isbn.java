package io.semifaas.samples.library.catalogue;

/** ISBN-13 check digits. */
public final class Isbn {

  private Isbn() {}

  /** Whether {@code isbn} is 13 digits whose last digit is the ISBN-13 check digit of the rest. */
  public static boolean isValid(String isbn) {
    if (isbn == null || isbn.length() != 13) {
      return false;
    }
    int sum = 0;
    for (int i = 0; i < 13; i++) {
      char c = isbn.charAt(i);
      if (c < '0' || c > '9') {
        return false;
      }
      sum += (c - '0') * (i % 2 == 0 ? 1 : 3);
    }
    return sum % 10 == 0;
  }
}

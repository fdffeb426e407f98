package io.semifaas.samples.library.web;

import org.springframework.web.bind.annotation.ControllerAdvice;
import org.springframework.web.bind.annotation.ModelAttribute;

/** Model attributes every page of the layout uses. Applies to the page controllers only. */
@ControllerAdvice(basePackageClasses = LayoutAdvice.class)
public class LayoutAdvice {

  private final CurrentMember current;

  public LayoutAdvice(CurrentMember current) {
    this.current = current;
  }

  /** The logged-in member for the page header, or null. */
  @ModelAttribute("viewer")
  public Viewer viewer() {
    return current
        .find()
        .map(m -> new Viewer(m.getUsername(), m.getDisplayName(), m.isLibrarian()))
        .orElse(null);
  }
}

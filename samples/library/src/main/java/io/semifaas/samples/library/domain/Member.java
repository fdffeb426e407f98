package io.semifaas.samples.library.domain;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.GeneratedValue;
import jakarta.persistence.GenerationType;
import jakarta.persistence.Id;
import jakarta.persistence.OneToMany;
import jakarta.persistence.OrderBy;
import jakarta.persistence.Table;
import java.util.ArrayList;
import java.util.List;

/** A library member who can log in. Librarians may also add and edit books. */
@Entity
@Table(name = "members")
public class Member {

  public static final String ROLE_MEMBER = "MEMBER";
  public static final String ROLE_LIBRARIAN = "LIBRARIAN";

  @Id
  @GeneratedValue(strategy = GenerationType.IDENTITY)
  private Long id;

  @Column(nullable = false, unique = true, length = 32)
  private String username;

  @Column(nullable = false, length = 80)
  private String displayName;

  /** A {@code DelegatingPasswordEncoder} hash, e.g. {@code {bcrypt}$2a$10$...}. */
  @Column(nullable = false, length = 100)
  private String passwordHash;

  @Column(nullable = false, length = 16)
  private String role;

  @Column(nullable = false)
  private int activeLoans;

  @Column(nullable = false)
  private int totalLoans;

  @OneToMany(mappedBy = "member")
  @OrderBy("id")
  private List<Loan> loans = new ArrayList<>();

  protected Member() {}

  public Member(String username, String displayName, String passwordHash, String role) {
    this.username = username;
    this.displayName = displayName;
    this.passwordHash = passwordHash;
    this.role = role;
  }

  /** Counts a loan that has just started. */
  public void loanStarted() {
    activeLoans++;
    totalLoans++;
  }

  /** Counts a loan that has just ended. */
  public void loanEnded() {
    activeLoans--;
  }

  public boolean isLibrarian() {
    return ROLE_LIBRARIAN.equals(role);
  }

  public Long getId() {
    return id;
  }

  public String getUsername() {
    return username;
  }

  public String getDisplayName() {
    return displayName;
  }

  public String getPasswordHash() {
    return passwordHash;
  }

  public String getRole() {
    return role;
  }

  public int getActiveLoans() {
    return activeLoans;
  }

  public int getTotalLoans() {
    return totalLoans;
  }

  /** Every loan of this member, oldest first (loaded lazily). */
  public List<Loan> getLoans() {
    return loans;
  }
}

# A bundle whose own test fails: `rampart policy test` must exit non-zero.
package failing

answer := 41

test_answer_is_42 if answer == 42

test_answer_is_positive if answer > 0

"""Account numbers carry ISO 7064 MOD 97-10 check digits, and are checked when they come in."""

from apps.accounts.services import account_number_generate, account_number_is_valid


def test_generated_numbers_leave_remainder_one_modulo_97():
    numbers = {account_number_generate() for _ in range(500)}
    assert len(numbers) == 500
    for number in numbers:
        assert number.isdigit()
        assert len(number) == 16
        assert int(number) % 97 == 1
        assert account_number_is_valid(number)


def test_a_changed_digit_or_swapped_pair_is_caught():
    number = account_number_generate()
    changed = number[:5] + str((int(number[5]) + 1) % 10) + number[6:]
    swapped = number[:3] + number[4] + number[3] + number[5:]
    assert not account_number_is_valid(changed)
    assert number[3] == number[4] or not account_number_is_valid(swapped)
    assert not account_number_is_valid("12AB")
    assert not account_number_is_valid("１２３４５６７８")  # noqa: RUF001 - full-width digits on purpose


def test_lookup_by_number_validates_the_check_digits(api, make_account):
    account = make_account()
    found = api.get("/api/v1/accounts/", number=account.number)
    assert found.status_code == 200
    assert [row["id"] for row in found.json()["results"]] == [str(account.public_id)]
    bad = account.number[:-1] + str((int(account.number[-1]) + 1) % 10)
    refused = api.get("/api/v1/accounts/", number=bad)
    assert refused.status_code == 400
    assert refused.json()["code"] == "validation_error"
    assert "number" in refused.json()["errors"]

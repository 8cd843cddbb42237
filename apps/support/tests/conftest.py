from apps.support.tests.fixtures import Person, faq, make_person  # noqa: F401 - fixtures of these tests

"""The shared database fixtures give working, empty, isolated databases."""

from sqlalchemy import create_engine, inspect, text


def test_db_url_is_fresh_and_usable(db_url: str) -> None:
    engine = create_engine(db_url)
    with engine.begin() as conn:
        assert inspect(conn).get_table_names() == []
        conn.execute(text("CREATE TABLE probe (id INTEGER PRIMARY KEY, v TEXT)"))
        conn.execute(text("INSERT INTO probe (id, v) VALUES (1, 'ü')"))
        assert conn.execute(text("SELECT v FROM probe")).scalar_one() == "ü"
    engine.dispose()

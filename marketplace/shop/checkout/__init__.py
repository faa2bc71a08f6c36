"""Oscar's checkout, forked for the direct purchase of a listed offering (直接购买, issue 6)."""

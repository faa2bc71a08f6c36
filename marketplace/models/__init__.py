from .industries import Industry
from .payments import Payment
from .users import User

__all__ = ["Industry", "Payment", "User"]
